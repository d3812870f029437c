"""Generators turn retrieved passages into answers and briefings (see base.py)."""
