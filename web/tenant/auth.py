"""Tenant logins: account number + password, or phone + one-time SMS code; sessions kept as token hashes."""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update

from integrations.notify.const import CHANNEL_SMS
from integrations.topup.models import SecurityEventRow
from scada_core.billing.errors import BillingError
from web.auth import AuthError
from web.passwords import PasswordHashing

from .const import (
    CODE_DAY_SENDS,
    CODE_DAY_WRONG,
    CODE_LIFETIME,
    CODE_MAX_ATTEMPTS,
    CODE_RESEND_GAP,
    FAILURE_WINDOW,
    KIND_BAD_CODE,
    MAX_FAILURES,
    PHONE_PATTERN,
    SOURCE_LOGIN,
    TENANT_PASSWORD_MAX,
    TENANT_PASSWORD_MIN,
)
from .models import TenantCodeRow, TenantCredentialRow, TenantSessionRow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from integrations.topup.orders import OrderStore
    from scada_core.clock import Clock
    from scada_core.core import Core

_LOGGER = logging.getLogger(__name__)
_PHONE = re.compile(PHONE_PATTERN)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def day_start(clock: Clock) -> float:
    """Return the POSIX time of this local day's midnight in the site's time zone."""
    return clock.now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


async def _credential_row(session: AsyncSession, account_id: int) -> TenantCredentialRow:
    """Return a tenant's login row, added (no password, no remote control) when it has none yet."""
    row = await session.get(TenantCredentialRow, account_id)
    if row is None:
        row = TenantCredentialRow(account_id=account_id, tenant_control=False)
        session.add(row)
    return row


class TenantAuth:
    """Check tenant credentials and keep sessions."""

    def __init__(self, core: Core, store: OrderStore) -> None:
        assert core.db is not None
        self.core = core
        self.db = core.db
        self.store = store
        self.hashing = PasswordHashing()

    async def set_credentials(
        self, account_id: int, password: str | None = None, phone: str | None = None,
        tenant_control: bool | None = None,
    ) -> None:
        """Create or change a tenant's login (staff or set-up scripts call this); a malformed phone, a password
        of the wrong length and a phone that already logs in to another account (a one-time code opens one
        account) are refused."""
        if phone is not None and not _PHONE.match(phone):
            raise BillingError("手机号格式不正确(5–20位数字，可带+)", "not a phone number (5–20 digits, + allowed)")
        if password is not None and not TENANT_PASSWORD_MIN <= len(password) <= TENANT_PASSWORD_MAX:
            raise BillingError(f"密码长度应为 {TENANT_PASSWORD_MIN}–{TENANT_PASSWORD_MAX} 个字符",
                               f"a password has {TENANT_PASSWORD_MIN}–{TENANT_PASSWORD_MAX} characters")
        password_hash = await self.hashing.hash(password) if password else None
        async with self.db.write() as session:
            if phone is not None:
                holder = await session.scalar(select(TenantCredentialRow.account_id).where(
                    TenantCredentialRow.phone == phone, TenantCredentialRow.account_id != account_id))
                if holder is not None:
                    raise BillingError(f"手机号 {phone} 已是账户 {holder} 的登录手机",
                                       f"phone {phone} already logs in to account {holder}")
            row = await _credential_row(session, account_id)
            if password_hash is not None:
                row.password_hash = password_hash
            if phone is not None:
                row.phone = phone
            if tenant_control is not None:
                row.tenant_control = tenant_control
            row.updated_ts = self.core.clock.timestamp()

    async def set_sms_alerts(self, account_id: int, wanted: bool) -> None:
        """Record whether the tenant wants text messages about its account."""
        async with self.db.write() as session:
            row = await _credential_row(session, account_id)
            row.sms_alerts = wanted
            row.updated_ts = self.core.clock.timestamp()

    async def wants_sms(self, account_id: int, channel: str) -> bool:
        """Tell notify whether a message of ``channel`` may go to the account (only SMS can be declined)."""
        if channel != CHANNEL_SMS:
            return True
        row = await self.credentials(int(account_id))
        return row is None or row.sms_alerts is not False

    async def credentials(self, account_id: int) -> TenantCredentialRow | None:
        """Return a tenant's login row."""
        async with self.db.session() as session:
            return await session.get(TenantCredentialRow, account_id)

    async def login_state(self, account_id: int) -> dict[str, Any]:
        """Return what staff see of a tenant's login: its phone and whether it has a password (never the hash)."""
        row = await self.credentials(account_id)
        return {
            "phone": row.phone if row is not None else None,
            "has_password": row is not None and bool(row.password_hash),
            "tenant_control": row is not None and bool(row.tenant_control),
            "sms_alerts": row is None or row.sms_alerts is not False,
        }

    async def _recent_failures(self, detail: str) -> int:
        since = self.core.clock.timestamp() - FAILURE_WINDOW
        async with self.db.session() as session:
            return int(await session.scalar(
                select(func.count()).select_from(SecurityEventRow).where(
                    SecurityEventRow.source == SOURCE_LOGIN, SecurityEventRow.detail == detail,
                    SecurityEventRow.ts >= since)
            ) or 0)

    async def login_password(self, account_id: int, password: str, remote: str | None) -> bool:
        """Tell whether the password opens the account (failures are security events; too many lock it a while)."""
        detail = f"account {account_id}"
        if await self._recent_failures(detail) >= MAX_FAILURES:
            await self.store.security_event(SOURCE_LOGIN, "locked", detail, remote)
            return False
        row = await self.credentials(account_id)
        ok = await self.hashing.verify(row.password_hash if row is not None else None, password)
        if not ok:
            await self.store.security_event(SOURCE_LOGIN, "bad_password", detail, remote)
        return ok

    async def _codes_today(self, session: AsyncSession, phone: str) -> tuple[int, int]:
        """Return how many codes ``phone`` was sent and how many wrong codes were tried with it this local day."""
        since = day_start(self.core.clock)
        sent = await session.scalar(select(func.count()).select_from(TenantCodeRow).where(
            TenantCodeRow.phone == phone, TenantCodeRow.created_ts >= since))
        wrong = await session.scalar(select(func.count()).select_from(SecurityEventRow).where(
            SecurityEventRow.source == SOURCE_LOGIN, SecurityEventRow.kind == KIND_BAD_CODE,
            SecurityEventRow.detail == f"phone {phone}", SecurityEventRow.ts >= since))
        return int(sent or 0), int(wrong or 0)

    async def send_code(self, phone: str) -> None:
        """Send a one-time code to a registered phone through notify.sms (or the log when SMS is absent).

        Unknown phones get nothing and no error (the page looks the same); AuthError("code_day_sends") once the
        phone had CODE_DAY_SENDS codes this local day.
        """
        now = self.core.clock.timestamp()
        async with self.db.write() as session:
            known = await session.scalar(select(TenantCredentialRow.account_id).where(TenantCredentialRow.phone == phone))
            if known is None:
                return
            recent = await session.scalar(
                select(TenantCodeRow.id).where(TenantCodeRow.phone == phone, TenantCodeRow.created_ts > now - CODE_RESEND_GAP)
            )
            if recent is not None:
                return
            if (await self._codes_today(session, phone))[0] >= CODE_DAY_SENDS:
                raise AuthError("code_day_sends")
            code = f"{secrets.randbelow(1_000_000):06d}"
            session.add(TenantCodeRow(phone=phone, code_hash=_digest(f"{phone}:{code}"), created_ts=now,
                                      expires_ts=now + CODE_LIFETIME, attempts=0, used=False))
        message = f"您的电费账户登录验证码为 {code}，{CODE_LIFETIME // 60} 分钟内有效。"
        if self.core.services.has_service("notify", "sms"):
            await self.core.services.async_call(
                "notify", "sms", {"target": [phone], "message": message, "secret": code}
            )
        else:
            _LOGGER.warning("No SMS service: one-time code for %s is %s (demo only)", phone, code)

    async def check_code(self, phone: str, code: str, remote: str | None) -> bool:
        """Use up a valid, unused one-time code of ``phone``; a wrong one is a security event.

        AuthError("code_day_wrong") once CODE_DAY_WRONG wrong codes were tried with the phone this local day.
        """
        now = self.core.clock.timestamp()
        async with self.db.write() as session:
            locked = (await self._codes_today(session, phone))[1] >= CODE_DAY_WRONG
            row = None if locked else await session.scalar(
                select(TenantCodeRow)
                .where(TenantCodeRow.phone == phone, TenantCodeRow.used.is_(False), TenantCodeRow.expires_ts > now)
                .order_by(TenantCodeRow.id.desc())
            )
            if row is not None and row.attempts < CODE_MAX_ATTEMPTS:
                row.attempts += 1
                if hmac.compare_digest(row.code_hash, _digest(f"{phone}:{code}")):
                    row.used = True
                    return True
        if locked:
            await self.store.security_event(SOURCE_LOGIN, "code_locked", f"phone {phone}", remote)
            raise AuthError("code_day_wrong")
        await self.store.security_event(SOURCE_LOGIN, KIND_BAD_CODE, f"phone {phone}", remote)
        return False

    async def login_code(self, phone: str, code: str, remote: str | None) -> int | None:
        """Return the account a valid, unused one-time code opens, or None (AuthError as check_code)."""
        if not await self.check_code(phone, code, remote):
            return None
        async with self.db.session() as session:
            return await session.scalar(select(TenantCredentialRow.account_id).where(TenantCredentialRow.phone == phone))

    async def open_session(self, account_id: int, kind: str, lifetime: float) -> str:
        """Start a session and return its token (only the hash is stored)."""
        token = secrets.token_urlsafe(32)
        now = self.core.clock.timestamp()
        async with self.db.write() as session:
            session.add(TenantSessionRow(token_hash=_digest(token), account_id=account_id, kind=kind,
                                         created_ts=now, expires_ts=now + lifetime))
        return token

    async def session_account(self, token: str | None, kind: str, extend: float | None = None) -> int | None:
        """Return the account of a live session (sliding its expiry by ``extend`` seconds), else None."""
        if not token:
            return None
        now = self.core.clock.timestamp()
        async with self.db.write() as session:
            row = await session.get(TenantSessionRow, _digest(token))
            if row is None or row.kind != kind or row.expires_ts <= now:
                return None
            if extend is not None:
                await session.execute(
                    update(TenantSessionRow).where(TenantSessionRow.token_hash == row.token_hash)
                    .values(expires_ts=now + extend)
                )
            return row.account_id

    async def close_session(self, token: str | None) -> None:
        """End a session."""
        if token:
            async with self.db.write() as session:
                await session.execute(delete(TenantSessionRow).where(TenantSessionRow.token_hash == _digest(token)))
