"""Audit records for authentication events."""
