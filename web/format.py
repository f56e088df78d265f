"""How the staff pages, exports, receipts and the audit log write values for people: one module, both languages.

Money is fen shown as yuan with two decimals (no grouping, as receipts and bank slips write it); energy is Wh shown as kWh (度) with two
decimals; a moment is ``2026-12-04 15:16`` in the site's time zone; an enum is looked up in the page's catalogue
(``relay_open`` -> 拉闸), a payment method by billing's names of them. Babel is not used: the formats asked for are
the same in zh-CN and en (ISO dates, 2 decimals), and its CLDR patterns would differ between the two (``Dec 4,
2026``, ``CN¥``) for no gain, while every label is our own catalogue anyway.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from .i18n import Catalogue, texts

DATE_TIME = "%Y-%m-%d %H:%M"
DATE_TIME_SECONDS = "%Y-%m-%d %H:%M:%S"
DATE = "%Y-%m-%d"
ENUM_ATTRIBUTES = {"relay": "relay", "prepaid_mode": "mode", "online": "online", "billing": "billing",
                   "password_change": "password_change"}


def plain_method(method: str, _language: str) -> str:
    """Name a payment method when billing is not there to (its raw name)."""
    return method


@dataclass(frozen=True)
class Formatter:
    """Writes values for one language and time zone (``method_name`` names payment methods by billing's table)."""

    language: str
    time_zone: tzinfo
    method_name: Callable[[str, str], str] = plain_method

    @property
    def t(self) -> Catalogue:
        """The catalogue of this language."""
        return texts(self.language)

    def money(self, fen: Any) -> str:
        """Fen as yuan: ``-1234.50`` (— when unknown)."""
        if fen is None or fen == "":
            return self.t["empty_value"]
        fen = int(fen)
        sign = "-" if fen < 0 else ""
        return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"

    def energy(self, wh: Any) -> str:
        """Wh as kWh with two decimals: ``1234.57`` (— when unknown)."""
        if wh is None or wh == "":
            return self.t["empty_value"]
        return f"{float(wh) / 1000:.2f}"

    def when(self, ts: Any, seconds: bool = False) -> str:
        """A POSIX time as ``2026-12-04 15:16`` in the site's zone (— when unknown)."""
        if not ts:
            return self.t["empty_value"]
        return datetime.fromtimestamp(float(ts), self.time_zone).strftime(DATE_TIME_SECONDS if seconds else DATE_TIME)

    def day(self, ts: Any) -> str:
        """A POSIX time's date, ``2026-12-04``."""
        if not ts:
            return self.t["empty_value"]
        return datetime.fromtimestamp(float(ts), self.time_zone).strftime(DATE)

    def enum(self, family: str, value: Any) -> str:
        """``value`` of ``family`` in words (合闸, 是, 在线 …); an unknown value shows as itself."""
        if value is None or value == "":
            return self.t["empty_value"]
        key = f"{family}_{value}"
        return self.t[key] if key in self.t else str(value)

    def method(self, name: str | None) -> str:
        """A payment method's name (现金, 支付宝, a provider's own)."""
        return self.method_name(name, self.language) if name else ""

    def attribute(self, key: str, value: Any) -> str:
        """A meter attribute or audited field by what its name says it holds (fen, Wh, W, time, enum, bool)."""
        if key in ENUM_ATTRIBUTES:
            return self.enum(ENUM_ATTRIBUTES[key], value)
        if key == "method":
            return self.method(value)
        if key == "tariff" and isinstance(value, dict):
            return self.tariff(value)
        if isinstance(value, bool):
            return self.enum("bool", value)
        if value is None or value == "":
            return self.t["empty_value"]
        if key.endswith("_fen") and isinstance(value, int | float):
            return self.money(value)
        if key.endswith("_wh") and isinstance(value, int | float):
            return self.energy(value)
        if (key.endswith("_ts") or key == "ts") and isinstance(value, int | float):
            return self.when(value)
        if key.endswith("_w") and isinstance(value, int | float):
            return f"{value:.0f} W"
        return str(value)

    def tariff(self, spec: dict[str, Any]) -> str:
        """A tariff in one line: 单一电价 1.25, 分时电价 尖 1.35 峰 1.10 平 0.75 谷 0.38, 阶梯电价 0.5/0.6."""
        kind = str(spec.get("kind", ""))
        if isinstance(spec.get("prices"), dict):
            prices = " ".join(f"{self.t.get('settings_rate_' + rate, rate)} {price}" for rate, price in spec["prices"].items())
        elif isinstance(spec.get("bands"), list):
            prices = "/".join(str(band.get("price", "")) for band in spec["bands"] if isinstance(band, dict))
        else:
            prices = str(spec.get("price", ""))
        return f"{self.t.get('settings_tariff_' + kind, kind)} {prices}".strip()

    def label(self, key: str) -> str:
        """The name of an attribute or audited field (``attr_<key>``, else the key itself)."""
        return self.t.get(f"attr_{key}", key)

    def changes(self, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
        """Each changed field as ``继电器 合闸→拉闸``; a field only on one side shows — on the other."""
        before, after = before or {}, after or {}
        lines = []
        for key in [*before, *(k for k in after if k not in before)]:
            old, new = before.get(key), after.get(key)
            if old != new:
                lines.append(self.t["audit_changed"].format(
                    name=self.label(key), before=self.attribute(key, old), after=self.attribute(key, new)))
        return lines
