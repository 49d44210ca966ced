"""Working-day calendar tables (holidays and make-up working days)."""
