"""Notification bodies read once, strictly: a form of single UTF-8 values."""
from __future__ import annotations

from urllib.parse import parse_qsl

from .const import CHARSET


def parse_form(raw: bytes) -> dict[str, str] | None:
    """Decode a form body exactly once into single string values; None if a key repeats or it is not UTF-8."""
    try:
        pairs = parse_qsl(raw.decode(CHARSET), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            return None
        form[key] = value
    return form
