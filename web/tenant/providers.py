"""The interface the tenant pages and the kiosk need from a top-up provider (Alipay, WeChat Pay)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from integrations.alipay.orders import Order, OrderStore


@runtime_checkable
class TopUpProvider(Protocol):
    """A way to pay a top-up: a phone redirect (wap/H5) and an on-screen QR (kiosk), on the shared orders."""

    name: str  # "alipay", "wechatpay": the orders' provider column and the form value
    label: str  # English name for logs; pages use the i18n text ``provider_<name>``
    store: OrderStore

    async def create_wap_order(
        self, account_id: int, amount_fen: int, quit_url: str | None = None, payer_ip: str | None = None,
        meter_entity_id: str | None = None,
    ) -> tuple[Order, str]:
        """Store a PENDING order and return it with the URL the phone's browser is sent to."""
        ...

    async def create_qr_order(self, account_id: int, amount_fen: int, meter_entity_id: str | None = None) -> Order:
        """Store a PENDING order and return it with the text of its QR code (``qr_code``)."""
        ...
