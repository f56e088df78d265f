"""Errors of the top-up flow."""
from __future__ import annotations

from scada_core.exceptions import OpenPrepayError


class TopUpError(OpenPrepayError):
    """A top-up request was refused (amount out of range, unknown account, gateway refused)."""
