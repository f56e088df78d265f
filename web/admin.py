"""Operators and API tokens managed without the dashboard (the command line), audited as the dashboard's are."""
from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from scada_core.exceptions import OpenPrepayError

from .audit import AuditLog
from .auth import Auth, AuthError
from .const import OPERATOR_PASSWORD_LENGTH
from .i18n import texts
from .passwords import generated_password

if TYPE_CHECKING:
    from scada_core.core import Core

ACTOR = "command-line"  # the audit log's operator and address for these changes
LANGUAGE = "en"


class OperatorAdmin:
    """Add, reset, disable and list operators; create, revoke and list their API tokens."""

    def __init__(self, auth: Auth, audit: AuditLog) -> None:
        self.auth = auth
        self.audit = audit

    @classmethod
    async def async_open(cls, core: Core, config: dict[str, Any], buildings: Collection[str]) -> OperatorAdmin:
        """Return the admin of the operator store the web section configures."""
        assert core.db is not None
        return cls(await Auth.async_from_config(core, config, buildings), AuditLog(core.db, core.clock))

    async def _operator(self, username: str) -> dict[str, Any]:
        for operator in await self.auth.operators():
            if operator["username"] == username:
                return operator
        raise OpenPrepayError(f"no operator {username!r}")

    async def add(
        self, username: str, role: str, password: str | None, must_change: bool,
        display_name: str = "", buildings: Collection[str] | None = None,
    ) -> tuple[dict[str, Any], str | None]:
        """Add an operator; return it and the one-time password made for it when ``password`` is None."""
        made = None if password is not None else generated_password(OPERATOR_PASSWORD_LENGTH)
        try:
            created = await self.auth.create_operator(
                username, display_name, role, password or made or "", must_change=must_change or made is not None,
                buildings=buildings,
            )
        except AuthError as err:
            raise _refused(err) from None
        await self.audit.record(ACTOR, None, "operator_create", username, after=created, username=ACTOR)
        return created, made

    async def passwd(self, username: str, password: str | None, must_change: bool) -> str | None:
        """Set an operator's password (ending its sessions); return the one-time password made when None given."""
        operator = await self._operator(username)
        made = None if password is not None else generated_password(OPERATOR_PASSWORD_LENGTH)
        try:
            await self.auth.set_password(operator["id"], password or made or "", must_change or made is not None)
        except AuthError as err:
            raise _refused(err) from None
        await self.audit.record(ACTOR, None, "operator_password_reset", f"operator {operator['id']}",
                                username=ACTOR)
        return made

    async def disable(self, username: str) -> bool:
        """Deactivate an operator (its sessions end, its tokens are revoked); False when it was already."""
        operator = await self._operator(username)
        if not operator["active"]:
            return False
        before, after = await self.auth.update_operator(operator["id"], active=False)
        await self.audit.record(ACTOR, None, "operator_update", username, before=before, after=after,
                                username=ACTOR)
        return True

    async def operators(self) -> list[dict[str, Any]]:
        """Return every operator (no hashes)."""
        return await self.auth.operators()

    async def create_token(self, username: str, name: str) -> tuple[int, str]:
        """Create a bearer token for an active operator; return (id, the token, to show once)."""
        operator = await self._operator(username)
        if not operator["active"]:
            raise OpenPrepayError(f"operator {username!r} is disabled")
        token_id, token = await self.auth.create_token(operator["id"], name)
        await self.audit.record(ACTOR, None, "token_create", f"operator {operator['id']}", after={"token_id": token_id},
                                username=ACTOR)
        return token_id, token

    async def revoke_token(self, token_id: int) -> None:
        """Revoke a live token."""
        if not await self.auth.revoke_token(token_id):
            raise _refused(AuthError("err_no_token"))
        await self.audit.record(ACTOR, None, "token_revoke", f"token {token_id}", username=ACTOR)

    async def tokens(self) -> list[dict[str, Any]]:
        """Return every token: id, name, owner, created, last used, revoked (never the secret)."""
        return await self.auth.tokens()


def _refused(err: AuthError) -> OpenPrepayError:
    return OpenPrepayError(err.text(texts(LANGUAGE)))
