"""AEAD_AES_256_GCM with the APIv3 key: notification resources (decrypt) and the sandbox's (encrypt)."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from Crypto.Cipher import AES

from .const import APIV3_KEY_BYTES, CHARSET, GCM_TAG_BYTES

if TYPE_CHECKING:
    from Crypto.Cipher._mode_gcm import GcmMode


def _cipher(apiv3_key: bytes, nonce: str, associated_data: str) -> GcmMode:
    if len(apiv3_key) != APIV3_KEY_BYTES:
        raise ValueError("the APIv3 key must be 32 bytes")
    cipher: GcmMode = AES.new(apiv3_key, AES.MODE_GCM, nonce=nonce.encode(CHARSET))
    cipher.update(associated_data.encode(CHARSET))
    return cipher


def decrypt(apiv3_key: bytes, nonce: str, associated_data: str, ciphertext_b64: str) -> bytes:
    """Return a resource's plaintext (the 16-byte tag ends the ciphertext); ValueError unless it verifies."""
    try:
        raw = base64.b64decode(ciphertext_b64, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError("ciphertext is not base64") from err
    if len(raw) <= GCM_TAG_BYTES:
        raise ValueError("ciphertext too short")
    return _cipher(apiv3_key, nonce, associated_data).decrypt_and_verify(
        raw[:-GCM_TAG_BYTES], raw[-GCM_TAG_BYTES:]
    )


def encrypt(apiv3_key: bytes, nonce: str, associated_data: str, plaintext: bytes) -> str:
    """Return base64 of ciphertext + tag, as WeChat Pay sends it."""
    ciphertext, tag = _cipher(apiv3_key, nonce, associated_data).encrypt_and_digest(plaintext)
    return base64.b64encode(ciphertext + tag).decode("ascii")
