"""Sandbox keys: the merchant's and "WeChat Pay's" RSA pairs and an APIv3 key, made once (never commit)."""

from __future__ import annotations

import os
import secrets
import string
from pathlib import Path

from integrations.alipay.signing import generate_keypair

from .const import (
    APIV3_KEY_BYTES,
    APIV3_KEY_FILE,
    MERCHANT_PRIVATE_PEM,
    MERCHANT_PUBLIC_PEM,
    WECHATPAY_PRIVATE_PEM,
    WECHATPAY_PUBLIC_PEM,
)

PAIRS = ((MERCHANT_PRIVATE_PEM, MERCHANT_PUBLIC_PEM), (WECHATPAY_PRIVATE_PEM, WECHATPAY_PUBLIC_PEM))


def _write_private(path: Path, text: str) -> None:
    """Write a secret readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def ensure_keys(keys_dir: Path) -> Path:
    """Create the key pairs and the APIv3 key in ``keys_dir`` unless present (blocking)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    ignore = keys_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# generated sandbox keys: never commit\n*\n")
    for private_name, public_name in PAIRS:
        if (keys_dir / private_name).is_file() and (keys_dir / public_name).is_file():
            continue
        private, public = generate_keypair()
        _write_private(keys_dir / private_name, private)
        (keys_dir / public_name).write_text(public)
    if not (keys_dir / APIV3_KEY_FILE).is_file():
        alphabet = string.ascii_letters + string.digits
        _write_private(
            keys_dir / APIV3_KEY_FILE, "".join(secrets.choice(alphabet) for _ in range(APIV3_KEY_BYTES))
        )
    return keys_dir


def read_text(keys_dir: Path, name: str) -> str:
    """Return the text of one key file (blocking)."""
    return (keys_dir / name).read_text().strip()
