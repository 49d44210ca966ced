"""Build and maintenance scripts (importable so tests and the Makefile share them)."""
