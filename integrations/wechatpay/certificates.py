"""Platform certificates, auto mode: /v3/certificates downloaded at start, every 12 h and on a new serial."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from Crypto.PublicKey import RSA

from integrations.topup.signing import KeyFormatError, load_public_key
from scada_core.clock import Clock

from .aead import decrypt
from .client import WeChatPayClient, WeChatPayError, answer_data
from .const import (
    ALGORITHM_AES_GCM,
    CERT_FORCED_REFRESH_INTERVAL,
    CERT_REFRESH_INTERVAL,
    CERT_RETRY_INTERVAL,
    CHARSET,
    PATH_CERTIFICATES,
)
from .verifier import SignatureError, WeChatPayVerifier

_LOGGER = logging.getLogger(__name__)


class CertificateError(ValueError):
    """A /v3/certificates answer is malformed, does not decrypt, or holds no valid certificate."""


def _certificate_key(item: Any, apiv3_key: bytes) -> tuple[str, RSA.RsaKey, datetime]:
    """Return (serial, public key, expiry) of one ``data`` item; CertificateError when unusable."""
    try:
        serial, expire = str(item["serial_no"]), datetime.fromisoformat(item["expire_time"])
        if expire.tzinfo is None:
            raise CertificateError(f"certificate {serial}: expire_time {item['expire_time']!r} has no offset")
        sealed = item["encrypt_certificate"]
        if sealed["algorithm"] != ALGORITHM_AES_GCM:
            raise CertificateError(f"certificate {serial}: algorithm {sealed['algorithm']!r}")
        pem = decrypt(apiv3_key, sealed["nonce"], sealed.get("associated_data") or "", sealed["ciphertext"])
        return serial, load_public_key(pem.decode(CHARSET)), expire
    except CertificateError:
        raise
    except (KeyError, TypeError, AttributeError) as err:
        raise CertificateError(f"certificate entry malformed: {err!r}") from None
    except (ValueError, KeyFormatError) as err:  # bad time, GCM tag, UTF-8 or X.509
        raise CertificateError(f"certificate does not decrypt or load: {err}") from None


def read_certificates(data: dict[str, Any], apiv3_key: bytes, now: datetime) -> dict[str, RSA.RsaKey]:
    """Return the unexpired certificates' keys by serial; CertificateError if any is bad or none is left."""
    items = data.get("data")
    if not isinstance(items, list):
        raise CertificateError("answer has no data list")
    keys: dict[str, RSA.RsaKey] = {}
    for item in items:
        serial, key, expire = _certificate_key(item, apiv3_key)
        if expire > now:
            keys[serial.upper()] = key
    if not keys:
        raise CertificateError("answer holds no unexpired certificate")
    return keys


class CertificateKeeper:
    """Keep the verifier's platform certificates current (auto mode); a bad download keeps the current set."""

    def __init__(self, client: WeChatPayClient, apiv3_key: bytes, clock: Clock) -> None:
        self.client = client
        self.verifier: WeChatPayVerifier = client.verifier
        self._apiv3_key = apiv3_key
        self._clock = clock
        self._lock = asyncio.Lock()
        self._trusted = False  # True once a download has been accepted
        self._last_forced: float | None = None

    async def refresh(self) -> bool:
        """Download, check and install the certificates; False (logged) keeps the current set."""
        async with self._lock:
            return await self._download()

    async def refresh_for(self, serial: str) -> bool:
        """Download at once for an unknown ``serial`` (at most once a minute); True when it is known then."""
        async with self._lock:
            if self.verifier.key(serial) is not None:  # a download while we waited brought it
                return True
            now = asyncio.get_running_loop().time()
            if self._last_forced is not None and now - self._last_forced < CERT_FORCED_REFRESH_INTERVAL:
                _LOGGER.debug("Unknown Wechatpay-Serial %.64r: list fetched under a minute ago", serial)
                return False
            self._last_forced = now
            _LOGGER.info("Unknown Wechatpay-Serial %.64r: downloading the platform certificates", serial)
            await self._download()
            return self.verifier.key(serial) is not None

    async def run(self) -> None:
        """Download at start, then every 12 hours (a failed download is retried after a few minutes)."""
        while True:
            ok = await self.refresh()
            await asyncio.sleep(CERT_REFRESH_INTERVAL if ok else CERT_RETRY_INTERVAL)

    async def _download(self) -> bool:
        """Fetch and install one certificate list (the caller holds the lock)."""
        try:
            status, headers, raw = await self.client.send("GET", PATH_CERTIFICATES)
            keys = read_certificates(
                answer_data("GET", PATH_CERTIFICATES, status, raw), self._apiv3_key, self._clock.utcnow()
            )
            if self._trusted:
                self.verifier.verify(headers, raw)
            else:
                # Bootstrap trust as the official SDKs do (wechatpay-java, wechatpay-php's
                # CertificateDownloader): the very first answer can only be checked with a certificate it
                # carries itself; it still came over TLS and its certificates decrypted with our APIv3 key.
                # Every later answer must verify under a certificate we already trust, so a forged list
                # cannot replace the trusted set.
                WeChatPayVerifier(keys, self._clock).verify(headers, raw)
        except (WeChatPayError, CertificateError, SignatureError, ValueError) as err:
            kind = f" ({err.kind})" if isinstance(err, SignatureError) else ""
            _LOGGER.warning("WeChat Pay platform certificates refused%s, keeping %s: %s",
                            kind, sorted(self.verifier.certificates) or "none", err)
            return False
        except Exception:  # noqa: BLE001 - never let a download kill the refresh loop or a notification
            _LOGGER.exception("WeChat Pay platform certificates download failed")
            return False
        if set(keys) != set(self.verifier.certificates):
            _LOGGER.info("WeChat Pay platform certificates now %s", sorted(keys))
        self.verifier.set_certificates(keys)
        self._trusted = True
        return True
