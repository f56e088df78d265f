"""Verify WeChat Pay's answers and notifications: key by Wechatpay-Serial, 5-minute window, no SIGNTEST."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping

from Crypto.PublicKey import RSA

from integrations.topup.logsafe import shown
from integrations.topup.signing import verify
from scada_core.clock import Clock

from .const import (
    CHARSET,
    HEADER_NONCE,
    HEADER_SERIAL,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    MAX_CLOCK_SKEW,
    SEC_BAD_SIGNATURE,
    SEC_MALFORMED,
    SEC_SIGNTEST,
    SEC_STALE,
    SEC_UNKNOWN_SERIAL,
    SIGNTEST_PREFIX,
)
from .signing import answer_message

UnknownSerialHook = Callable[[str], Awaitable[bool]]
TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds in ASCII digits (str.isdigit takes '²', int() does not)


class SignatureError(Exception):
    """A signed message did not verify; ``kind`` names why (a security event kind)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


class WeChatPayVerifier:
    """The WeChat Pay public key (by its PUB_KEY_ID_…) and/or platform certificates' keys (by serial)."""

    # ``keys`` are configured; ``certificates`` are the downloaded platform certificates (auto mode), replaced
    # as a whole by each download; ``on_unknown_serial`` may fetch a key it lacks (True when it now has it).

    def __init__(
        self, keys: Mapping[str, RSA.RsaKey], clock: Clock, max_skew: float = MAX_CLOCK_SKEW
    ) -> None:
        self.keys = {serial.upper(): key for serial, key in keys.items()}
        self.certificates: dict[str, RSA.RsaKey] = {}
        self.on_unknown_serial: UnknownSerialHook | None = None
        self._clock = clock
        self._max_skew = max_skew

    def key(self, serial: str) -> RSA.RsaKey | None:
        """Return the key that verifies under ``serial`` (configured or downloaded), None if unknown."""
        serial = serial.upper()
        key = self.keys.get(serial)
        return key if key is not None else self.certificates.get(serial)

    def set_certificates(self, certificates: Mapping[str, RSA.RsaKey]) -> None:
        """Replace the downloaded platform certificates' keys."""
        self.certificates = {serial.upper(): key for serial, key in certificates.items()}

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Return if ``body`` and its ``Wechatpay-*`` headers are fresh and signed; else SignatureError."""
        signature = headers.get(HEADER_SIGNATURE, "")
        if signature.startswith(SIGNTEST_PREFIX):
            raise SignatureError(SEC_SIGNTEST, "signature probe (WECHATPAY/SIGNTEST/)")
        timestamp, nonce = headers.get(HEADER_TIMESTAMP, ""), headers.get(HEADER_NONCE, "")
        if not TIMESTAMP.fullmatch(timestamp) or not nonce or not signature:
            raise SignatureError(SEC_MALFORMED, "Wechatpay-Timestamp/Nonce/Signature missing or malformed")
        skew = abs(self._clock.timestamp() - int(timestamp))
        if skew > self._max_skew:
            raise SignatureError(SEC_STALE, f"timestamp {timestamp} is {int(skew)} s away from now")
        serial = headers.get(HEADER_SERIAL, "")
        key = self.key(serial)
        if key is None:
            raise SignatureError(SEC_UNKNOWN_SERIAL, f"no key for Wechatpay-Serial {shown(serial)}")
        try:
            text = body.decode(CHARSET)
        except UnicodeDecodeError:
            raise SignatureError(SEC_MALFORMED, "body is not UTF-8") from None
        if not verify(answer_message(timestamp, nonce, text), signature, key):
            raise SignatureError(SEC_BAD_SIGNATURE, "signature does not verify")

    async def async_verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Like verify, but a fresh message under an unknown serial first asks ``on_unknown_serial`` once."""
        try:
            self.verify(headers, body)
        except SignatureError as err:
            hook = self.on_unknown_serial
            if err.kind != SEC_UNKNOWN_SERIAL or hook is None:
                raise
            if not await hook(headers.get(HEADER_SERIAL, "")):
                raise
            self.verify(headers, body)
