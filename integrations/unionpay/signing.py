"""ACP 5.1.0 signatures (signMethod 01): SHA256withRSA over the lowercase hex SHA-256 of the sorted
``key=value&…`` string of every field but ``signature``."""
from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .const import ENCODING, FIELD_SIGNATURE


def signing_string(params: Mapping[str, str]) -> str:
    """Return the string whose digest is signed: every field but ``signature``, sorted by name, ``k=v`` by '&'."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != FIELD_SIGNATURE)


def _digest(params: Mapping[str, str]) -> bytes:
    return hashlib.sha256(signing_string(params).encode(ENCODING)).hexdigest().encode("ascii")


def sign_params(params: Mapping[str, str], key: rsa.RSAPrivateKey) -> dict[str, str]:
    """Return ``params`` with their base64 ``signature`` (``certId`` or ``signPubKeyCert`` already in them)."""
    signed = dict(params)
    raw = key.sign(_digest(params), padding.PKCS1v15(), hashes.SHA256())
    signed[FIELD_SIGNATURE] = base64.b64encode(raw).decode("ascii")
    return signed


def verify_params(params: Mapping[str, str], cert: x509.Certificate) -> bool:
    """Tell whether ``params['signature']`` signs the other fields under ``cert``'s key; malformed is False."""
    try:
        raw = base64.b64decode(params.get(FIELD_SIGNATURE, ""), validate=True)
    except (binascii.Error, ValueError):
        return False
    public = cert.public_key()
    if not raw or not isinstance(public, rsa.RSAPublicKey):
        return False
    try:
        public.verify(raw, _digest(params), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
