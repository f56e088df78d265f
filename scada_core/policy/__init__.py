"""Policies every part obeys, such as friendly credit (no cut-offs at night or on holidays)."""
