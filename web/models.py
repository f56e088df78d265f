"""Tables of the web layer (created by migrations 0006_web, 0022_web_receipt_layout and 0036_web_roles)."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scada_core.storage.models import Base

ID = BigInteger().with_variant(Integer, "sqlite")


class OperatorRow(Base):
    """A staff member who logs in to the dashboard."""

    __tablename__ = "web_operators"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(8))
    created_ts: Mapped[float] = mapped_column(Float)
    buildings: Mapped[str | None] = mapped_column(Text)  # a JSON list of building ids; NULL: every building


class RoleRow(Base):
    """A named role an admin made: its label and permissions (a JSON list)."""

    __tablename__ = "web_roles"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    label: Mapped[str] = mapped_column(String(64))
    permissions: Mapped[str] = mapped_column(Text)
    updated_ts: Mapped[float] = mapped_column(Float)


class SessionRow(Base):
    """A browser session (only the SHA-256 of its cookie is stored) with its CSRF token."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[int] = mapped_column(Integer, index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_ts: Mapped[float] = mapped_column(Float)
    expires_ts: Mapped[float] = mapped_column(Float)


class ApiTokenRow(Base):
    """A long-lived bearer token for the REST API (only its SHA-256 is stored)."""

    __tablename__ = "web_api_tokens"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    operator_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    created_ts: Mapped[float] = mapped_column(Float)
    revoked_ts: Mapped[float | None] = mapped_column(Float)
    last_used_ts: Mapped[float | None] = mapped_column(Float)


class AuditRow(Base):
    """One operator action: who, what, when, from where, before and after (JSON text)."""

    __tablename__ = "web_audit"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    operator: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(255))
    remote: Mapped[str] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    ok: Mapped[bool] = mapped_column(Boolean, default=True)


class MeterDirectoryRow(Base):
    """What the site adds to a YAML-declared meter: floor, room and a label (edited in the UI or imported)."""

    __tablename__ = "web_meter_directory"

    entity_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    floor: Mapped[str | None] = mapped_column(String(32))
    room: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(128))


class ReceiptLayoutRow(Base):
    """The receipt's layout an admin chose: title, footer, optional fields and a logo (one row)."""

    __tablename__ = "web_receipt_layout"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(64))
    footer: Mapped[str] = mapped_column(String(256))
    fields: Mapped[str] = mapped_column(Text)  # JSON list of the optional fields printed
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_type: Mapped[str | None] = mapped_column(String(32))
    updated_ts: Mapped[float] = mapped_column(Float)
    operator: Mapped[str] = mapped_column(String(64))
