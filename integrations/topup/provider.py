"""What a payment provider offers the tenant pages, the kiosk and the order flow."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .orders import Order, OrderStore


@runtime_checkable
class TopUpProvider(Protocol):
    """A way to pay a top-up: a phone redirect (wap/H5) and an on-screen QR (kiosk), on the shared orders,
    with the sweep and the refund the flow's services call (``TopUpPayments`` has all but the gateway)."""

    name: str  # "alipay", "wechatpay": the orders' provider column, its services' domain, the form value
    label: str  # English name for logs
    labels: Mapping[str, str]  # its name on the tenant pages, by language (zh-CN, en)
    scan_prompts: Mapping[str, str]  # what the kiosk says beside its QR code, by language
    store: OrderStore

    async def create_wap_order(
        self, account_id: int, amount_fen: int, quit_url: str | None = None, payer_ip: str | None = None,
        meter_entity_id: str | None = None,
    ) -> tuple[Order, str]:
        """Store a PENDING order and return it with the URL the phone's browser is sent to."""
        ...

    async def create_qr_order(
        self, account_id: int, amount_fen: int, meter_entity_id: str | None = None
    ) -> Order:
        """Store a PENDING order and return it with the text of its QR code (``qr_code``)."""
        ...

    async def sweep(self, query_after_s: float) -> None:
        """Credit paid-but-uncredited orders, ask the gateway about quiet pending ones, close the expired."""
        ...

    async def refund(self, out_trade_no: str, operator: dict[str, str], reason: str) -> dict[str, Any]:
        """Refund a paid order in full: off its meter in the ledger, then at the gateway."""
        ...
