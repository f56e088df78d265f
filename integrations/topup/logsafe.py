"""Untrusted text (payment notifications, form fields) made fit for a log line or a security event."""
from __future__ import annotations

from .const import SHOWN_LIMIT


def shown(value: object, limit: int = SHOWN_LIMIT) -> str:
    """Return ``value`` on one line in at most ``limit`` characters: anything unprintable (CR, LF, ESC, U+2028 …)
    escaped as in repr, and ending in … when shortened."""
    text = str(value)
    escaped = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    if len(text) <= limit and len(escaped) <= limit:
        return escaped
    return f"{escaped[:limit - 1]}…"
