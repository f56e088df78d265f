"""Signed order references: a return URL names its order so the page shows it without a session."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from scada_core.storage.database import Database

from .const import REFERENCE_PURPOSE, SECRET_RETURN
from .models import TopUpSecretRow


class OrderReferences:
    """HMAC-SHA256 of an out_trade_no under a secret made once and kept in the database (shared by every
    process on it)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._key: bytes | None = None

    async def _secret(self) -> bytes:
        """Return the kept secret, making it on first use (once, even when two processes race)."""
        if self._key is None:
            async with self._db.write() as session:
                maker = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
                await session.execute(
                    maker(TopUpSecretRow).values(name=SECRET_RETURN, value=secrets.token_hex(32))
                    .on_conflict_do_nothing()
                )
                value = await session.scalar(
                    select(TopUpSecretRow.value).where(TopUpSecretRow.name == SECRET_RETURN)
                )
            self._key = bytes.fromhex(str(value))
        return self._key

    async def sign(self, out_trade_no: str) -> str:
        """Return the reference of an order (hex)."""
        message = f"{REFERENCE_PURPOSE}:{out_trade_no}".encode()
        return hmac.new(await self._secret(), message, hashlib.sha256).hexdigest()

    async def verify(self, out_trade_no: str, reference: str) -> bool:
        """Tell whether ``reference`` is the order's own."""
        return reference.isascii() and hmac.compare_digest(await self.sign(out_trade_no), reference)
