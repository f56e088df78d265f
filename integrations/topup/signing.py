"""RSA keys and SHA256withRSA (PKCS#1 v1.5) signatures, as Alipay and WeChat Pay both use them."""
from __future__ import annotations

import base64
import binascii
import textwrap

from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

from .const import CHARSET

RSA_BITS = 2048
PEM_LINE = 64
_PRIVATE_LABELS = ("PRIVATE KEY", "RSA PRIVATE KEY")
_PUBLIC_LABELS = ("PUBLIC KEY", "RSA PUBLIC KEY")


class KeyFormatError(ValueError):
    """A key is neither PEM nor bare base64 of an RSA key."""


def wrap_pem(body: str, label: str) -> str:
    """Wrap bare base64 key text in PEM markers with 64-character lines."""
    compact = "".join(body.split())
    return f"-----BEGIN {label}-----\n" + "\n".join(textwrap.wrap(compact, PEM_LINE)) + f"\n-----END {label}-----\n"


def _import(text: str, labels: tuple[str, ...], private: bool) -> RSA.RsaKey:
    text = text.strip()
    candidates = [text] if text.startswith("-----BEGIN") else [wrap_pem(text, label) for label in labels]
    for candidate in candidates:
        try:
            key = RSA.import_key(candidate)
        except (ValueError, IndexError, TypeError):
            continue
        if key.has_private() == private:
            return key
    kind = "private" if private else "public"
    raise KeyFormatError(f"not an RSA {kind} key (PEM or one line of base64 expected)")


def load_private_key(text: str) -> RSA.RsaKey:
    """Import an RSA private key from PEM or from the one-line base64 Alipay's key tool prints."""
    return _import(text, _PRIVATE_LABELS, private=True)


def load_public_key(text: str) -> RSA.RsaKey:
    """Import an RSA public key from PEM or bare base64."""
    return _import(text, _PUBLIC_LABELS, private=False)


def generate_keypair() -> tuple[str, str]:
    """Return a fresh (private PKCS#8 PEM, public PEM) pair (blocking: run it in an executor)."""
    key = RSA.generate(RSA_BITS)
    private = key.export_key(format="PEM", pkcs=8).decode()
    public = key.public_key().export_key(format="PEM").decode()
    return private, public


def sign(content: str, key: RSA.RsaKey) -> str:
    """Sign the UTF-8 bytes of ``content`` with SHA256withRSA; return base64 without newlines."""
    digest = SHA256.new(content.encode(CHARSET))
    return base64.b64encode(pkcs1_15.new(key).sign(digest)).decode("ascii")


def verify(content: str, signature: str, key: RSA.RsaKey) -> bool:
    """Tell whether ``signature`` (base64) signs ``content`` under ``key``; malformed input is False."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        pkcs1_15.new(key).verify(SHA256.new(content.encode(CHARSET)), raw)
    except (ValueError, TypeError):
        return False
    return True
