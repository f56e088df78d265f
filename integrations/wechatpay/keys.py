"""Sandbox keys: the merchant's and "WeChat Pay's" RSA pairs and an APIv3 key, made once (never commit)."""

from __future__ import annotations

import os
import secrets
import shutil
import string
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from Crypto.PublicKey import RSA

from integrations.topup.signing import generate_keypair, load_private_key

from .const import (
    APIV3_KEY_BYTES,
    APIV3_KEY_FILE,
    CERT_DAYS,
    CERT_SUBJECT,
    MERCHANT_PRIVATE_PEM,
    MERCHANT_PUBLIC_PEM,
    WECHATPAY_CERT_PEM,
    WECHATPAY_CERT_SERIAL,
    WECHATPAY_PRIVATE_PEM,
    WECHATPAY_PUBLIC_PEM,
)

PAIRS = ((MERCHANT_PRIVATE_PEM, MERCHANT_PUBLIC_PEM), (WECHATPAY_PRIVATE_PEM, WECHATPAY_PUBLIC_PEM))


def _write_private(path: Path, text: str) -> None:
    """Write a secret readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


@dataclass(frozen=True, slots=True)
class PlatformCertificate:
    """A sandbox platform certificate: its serial, PEM, validity and the private key that signs under it."""

    serial: str
    pem: str
    private_key: RSA.RsaKey
    effective: datetime
    expire: datetime


def new_serial() -> str:
    """Return a random 40-hex-digit positive certificate serial, upper case like WeChat Pay's."""
    return format(secrets.randbits(159) | (1 << 158), "040X")


def self_signed_pem(private_pem: str, serial: str, days: int = CERT_DAYS) -> str:
    """Return a self-signed X.509 certificate PEM of ``private_pem`` by `openssl req -x509` (blocking)."""
    with tempfile.TemporaryDirectory() as tmp:
        key_path = Path(tmp) / "key.pem"
        _write_private(key_path, private_pem)
        done = subprocess.run(
            ["openssl", "req", "-x509", "-new", "-key", str(key_path), "-sha256", "-days", str(days),
             "-set_serial", f"0x{serial}", "-subj", CERT_SUBJECT],
            check=True,
            capture_output=True,
            text=True,
        )
    return done.stdout


def certificate_for(
    private_pem: str, serial: str, pem: str, issued: datetime, days: int
) -> PlatformCertificate:
    """Return the PlatformCertificate of a key, its serial and certificate made at ``issued``."""
    return PlatformCertificate(
        serial, pem, load_private_key(private_pem), issued, issued + timedelta(days=days)
    )


def new_platform_certificate(days: int = CERT_DAYS) -> PlatformCertificate:
    """Return a certificate with a fresh key and serial, a sandbox rotation (blocking: use an executor)."""
    private, _ = generate_keypair()
    serial = new_serial()
    issued = datetime.now(timezone.utc)
    return certificate_for(private, serial, self_signed_pem(private, serial, days), issued, days)


def load_platform_certificate(keys_dir: Path) -> PlatformCertificate | None:
    """Return the sandbox's certificate of wechatpay_private.pem, None without openssl (blocking)."""
    path = keys_dir / WECHATPAY_CERT_PEM
    if not path.is_file():
        return None
    issued = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    return certificate_for(
        read_text(keys_dir, WECHATPAY_PRIVATE_PEM), read_text(keys_dir, WECHATPAY_CERT_SERIAL),
        path.read_text(), issued, CERT_DAYS,
    )


def _ensure_certificate(keys_dir: Path) -> None:
    """Make the self-signed certificate of wechatpay_private.pem when openssl is installed (blocking)."""
    if (keys_dir / WECHATPAY_CERT_PEM).is_file() or shutil.which("openssl") is None:
        return
    serial = new_serial()
    pem = self_signed_pem(read_text(keys_dir, WECHATPAY_PRIVATE_PEM), serial)
    (keys_dir / WECHATPAY_CERT_SERIAL).write_text(serial + "\n")
    (keys_dir / WECHATPAY_CERT_PEM).write_text(pem)


def ensure_keys(keys_dir: Path) -> Path:
    """Create the key pairs, platform certificate and APIv3 key in ``keys_dir`` unless present (blocking)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    ignore = keys_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# generated sandbox keys: never commit\n*\n")
    for private_name, public_name in PAIRS:
        if (keys_dir / private_name).is_file() and (keys_dir / public_name).is_file():
            continue
        private, public = generate_keypair()
        (keys_dir / WECHATPAY_CERT_PEM).unlink(missing_ok=True)  # a certificate of a replaced key is void
        _write_private(keys_dir / private_name, private)
        (keys_dir / public_name).write_text(public)
    if not (keys_dir / APIV3_KEY_FILE).is_file():
        alphabet = string.ascii_letters + string.digits
        _write_private(
            keys_dir / APIV3_KEY_FILE, "".join(secrets.choice(alphabet) for _ in range(APIV3_KEY_BYTES))
        )
    _ensure_certificate(keys_dir)
    return keys_dir


def read_text(keys_dir: Path, name: str) -> str:
    """Return the text of one key file (blocking)."""
    return (keys_dir / name).read_text().strip()
