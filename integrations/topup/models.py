"""Tables of the top-up integration: every provider's orders, the return-reference secret, security events."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scada_core.storage.models import Base

from .const import DEFAULT_PROVIDER

ID = BigInteger().with_variant(Integer, "sqlite")


class OrderRow(Base):
    """One top-up attempt: one out_trade_no, one account, one amount, one provider (alipay, wechatpay)."""

    __tablename__ = "topup_orders"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), index=True)
    subject: Mapped[str] = mapped_column(String(128))
    trade_no: Mapped[str | None] = mapped_column(String(64))
    qr_code: Mapped[str | None] = mapped_column(Text)
    created_ts: Mapped[float] = mapped_column(Float)
    expire_ts: Mapped[float] = mapped_column(Float)
    paid_ts: Mapped[float | None] = mapped_column(Float)
    closed_ts: Mapped[float | None] = mapped_column(Float)
    refunded_ts: Mapped[float | None] = mapped_column(Float)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    credited: Mapped[bool] = mapped_column(Boolean, default=False)
    transaction_id: Mapped[int | None] = mapped_column(Integer)
    receipt_no: Mapped[str | None] = mapped_column(String(64))
    last_query_ts: Mapped[float | None] = mapped_column(Float)
    provider: Mapped[str] = mapped_column(
        String(16), default=DEFAULT_PROVIDER, server_default=DEFAULT_PROVIDER, index=True
    )
    meter_entity_id: Mapped[str | None] = mapped_column(String(255))  # the meter the tenant chose, if any


class TopUpSecretRow(Base):
    """A secret of the top-up pages, made once and kept (``return``: the key signing return-URL references)."""

    __tablename__ = "topup_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


class SecurityEventRow(Base):
    """Something refused for looking forged, mismatched or replayed (payment notifies, tenant logins)."""

    __tablename__ = "security_events"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    source: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    remote: Mapped[str | None] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
