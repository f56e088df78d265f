"""The payment methods billing takes: the counter's own, plus one per top-up provider that registers.

Each method is a ledger account of its own name, so a name is lower-case letters, digits and ``_`` (no ``:``,
which the ledger's other accounts use) and is never taken twice. Each carries its name for people, by language.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from scada_core.const import DEFAULT_LANGUAGE

from .const import METHOD_LABELS, METHOD_NAME, METHOD_WALLET, METHODS
from .errors import BillingError


class PaymentMethods:
    """Known methods and their labels, the counter's first (in their order), then the providers'."""

    def __init__(self) -> None:
        self._labels: dict[str, Mapping[str, str]] = {name: METHOD_LABELS[name] for name in (*METHODS, METHOD_WALLET)}

    def register(self, name: str, labels: Mapping[str, str]) -> None:
        """Add a provider's method (a counter method of the same name keeps its labels)."""
        if not re.fullmatch(METHOD_NAME, name) or name == METHOD_WALLET:
            raise ValueError(f"payment method {name!r} is not a usable name")
        self._labels.setdefault(name, dict(labels))

    def check(self, name: str) -> None:
        """Refuse a method billing does not know."""
        if name not in self._labels:
            raise BillingError(f"未知的付款方式：{name}", f"unknown payment method: {name}")

    def label(self, name: str, language: str = DEFAULT_LANGUAGE) -> str:
        """Return the method's name for people in ``language`` (the raw name when it is unknown)."""
        labels = self._labels.get(name)
        if labels is None:
            return name
        return labels.get(language) or labels.get(DEFAULT_LANGUAGE) or name

    def __contains__(self, name: object) -> bool:
        return name in self._labels

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)
