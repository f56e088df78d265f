"""Billing errors: each carries a zh-CN and an English message (HTTP 400 through the core)."""

from __future__ import annotations

from scada_core.exceptions import Forbidden, OpenPrepayError


class BillingError(OpenPrepayError):
    """A refused billing request; ``str()`` gives 'zh-CN / en'."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en

    def message(self, language: str) -> str:
        """Return the message in ``language`` (zh-CN or en)."""
        return self.en if language == "en" else self.zh


class PermissionDenied(BillingError, Forbidden):
    """The operator's role or buildings do not allow this (HTTP 403)."""


class DeliveryPending(BillingError):
    """A meter still has a sale that is not confirmed delivered."""
