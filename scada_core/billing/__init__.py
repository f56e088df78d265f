"""Prepaid billing: accounts, double-entry ledger, tariffs, sales delivered exactly once (see service.py)."""
