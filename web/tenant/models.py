"""Tables of the tenant pages: logins (password, phone), one-time codes and sessions."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from scada_core.storage.models import Base

ID = BigInteger().with_variant(Integer, "sqlite")


class TenantCredentialRow(Base):
    """A tenant's login for an account: password hash, phone for one-time codes, remote-control permission."""

    __tablename__ = "tenant_credentials"

    account_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    tenant_control: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_alerts: Mapped[bool] = mapped_column(Boolean, default=True)  # text messages about the account
    updated_ts: Mapped[float] = mapped_column(Float)


class TenantCodeRow(Base):
    """A one-time login code sent by SMS (only its hash is kept)."""

    __tablename__ = "tenant_codes"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    code_hash: Mapped[str] = mapped_column(String(128))
    created_ts: Mapped[float] = mapped_column(Float)
    expires_ts: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class TenantSessionRow(Base):
    """A logged-in tenant (phone page or kiosk); only the token's hash is kept."""

    __tablename__ = "tenant_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(8))
    created_ts: Mapped[float] = mapped_column(Float)
    expires_ts: Mapped[float] = mapped_column(Float)
