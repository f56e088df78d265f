"""Passwords: the rules (NIST SP 800-63B: long enough, not a common password, not the user name) and their
argon2id hashes at a configurable cost (web: password_hash)."""
from __future__ import annotations

import asyncio
import secrets
from functools import cache
from typing import Any

import voluptuous as vol
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .const import (
    GENERATED_PASSWORD_ALPHABET,
    GENERATED_PASSWORD_LENGTH,
    HASH_MEMORY_DEFAULT_KIB,
    HASH_MEMORY_MAX_KIB,
    HASH_MEMORY_MIN_KIB,
    HASH_PARALLELISM_DEFAULT,
    HASH_TIME_DEFAULT,
    HASH_TIME_MIN,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
)

HASHING_SCHEMA = vol.Schema(
    {
        vol.Optional("memory_kib", default=HASH_MEMORY_DEFAULT_KIB): vol.All(
            int,
            vol.Range(
                min=HASH_MEMORY_MIN_KIB,
                max=HASH_MEMORY_MAX_KIB,
                msg=f"from {HASH_MEMORY_MIN_KIB} (OWASP's least for argon2id) to {HASH_MEMORY_MAX_KIB} KiB",
            ),
        ),
        vol.Optional("time_cost", default=HASH_TIME_DEFAULT): vol.All(
            int, vol.Range(min=HASH_TIME_MIN, max=20, msg=f"from {HASH_TIME_MIN} (OWASP's least) to 20 passes")
        ),
        vol.Optional("parallelism", default=HASH_PARALLELISM_DEFAULT): vol.All(int, vol.Range(min=1, max=16)),
    }
)


def generated_password(length: int = GENERATED_PASSWORD_LENGTH) -> str:
    """Return a password to read out: letters and digits that are not mistaken for each other."""
    return "".join(secrets.choice(GENERATED_PASSWORD_ALPHABET) for _ in range(length))


class PasswordHashing:
    """argon2id at the configured cost; hashing and checking run in a worker thread (tens of milliseconds each).

    A hash made at another cost still verifies (argon2 writes its parameters into the hash); ``outdated`` tells
    the caller to store a new one at the next successful login.
    """

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        cost = HASHING_SCHEMA(settings or {})
        self._hasher = PasswordHasher(
            time_cost=cost["time_cost"], memory_cost=cost["memory_kib"], parallelism=cost["parallelism"]
        )
        self._unknown_user: str | None = None

    async def hash(self, password: str) -> str:
        """Return the argon2id hash of ``password``."""
        return await asyncio.get_running_loop().run_in_executor(None, self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Tell whether ``password`` matches; with no hash (an unknown user) take as long, then say no."""
        if password_hash is None:
            if self._unknown_user is None:  # hashing costs what checking does: the first refusal is no slower
                self._unknown_user = await self.hash("not-a-password-timing-equaliser")
            else:
                await self._check(self._unknown_user, password)
            return False
        return await self._check(password_hash, password)

    async def _check(self, password_hash: str, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.get_running_loop().run_in_executor(None, check)

    def outdated(self, password_hash: str) -> bool:
        """Tell whether ``password_hash`` was made at another cost than the configured one."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


@cache
def common_passwords() -> frozenset[str]:
    """Return the 30,000 most common passwords of zxcvbn's list (lower case; loaded once, on first use)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # noqa: PLC0415 - a 2 MB table, only when a password is set

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def password_problem(username: str, password: str) -> str | None:
    """Return the message key of the rule ``password`` breaks, or None when it is acceptable."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return "err_password_short"
    if len(password) > PASSWORD_MAX_LENGTH:
        return "err_too_long"
    lowered = password.lower()
    name = username.strip().lower()
    if name and (lowered == name or (len(name) >= 3 and name in lowered)):
        return "err_password_user"
    if lowered in common_passwords():
        return "err_password_common"
    return None
