"""Operator password rules (NIST SP 800-63B): long enough, not a common password, not the user name."""
from __future__ import annotations

from functools import cache

from .const import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH


@cache
def common_passwords() -> frozenset[str]:
    """Return the 30,000 most common passwords of zxcvbn's list (lower case; loaded once, on first use)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # noqa: PLC0415 - a 2 MB table, only when a password is set

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def password_problem(username: str, password: str) -> str | None:
    """Return the message key of the rule ``password`` breaks, or None when it is acceptable."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return "err_password_short"
    if len(password) > PASSWORD_MAX_LENGTH:
        return "err_too_long"
    lowered = password.lower()
    name = username.strip().lower()
    if name and (lowered == name or (len(name) >= 3 and name in lowered)):
        return "err_password_user"
    if lowered in common_passwords():
        return "err_password_common"
    return None
