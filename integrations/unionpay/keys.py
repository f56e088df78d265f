"""The sandbox's certificates, made at first start in its keys folder (never committed): UnionPay's root,
middle and signing certificates, and the merchant's signing certificate issued under the same middle one."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from .certs import Issued, issue, key_pem, load_cert, load_key, pem
from .const import (
    MERCHANT_KEY,
    MERCHANT_PEM,
    MIDDLE_KEY,
    MIDDLE_PEM,
    ROOT_KEY,
    ROOT_PEM,
    SIGNER_KEY,
    SIGNER_PEM,
    UNIONPAY_SIGNER,
)

SIGNER_CN = f"041@Z31000000000001@{UNIONPAY_SIGNER}@00000001"
MERCHANT_CN = "041@Z31000000000002@OpenPrepay sandbox merchant@00000002"


@dataclass(frozen=True, slots=True)
class SandboxCerts:
    """Everything the sandbox and the demo merchant read from the keys folder."""

    root: x509.Certificate
    middle: x509.Certificate
    signer_key: rsa.RSAPrivateKey
    signer: x509.Certificate
    merchant_key: rsa.RSAPrivateKey
    merchant: x509.Certificate


def _write(path: Path, text: str, private: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def ensure_certs(keys_dir: Path) -> Path:
    """Make the chain and the merchant certificate in ``keys_dir`` unless all are there (blocking)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    ignore = keys_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# generated sandbox keys: never commit\n*\n")
    names = (ROOT_KEY, ROOT_PEM, MIDDLE_KEY, MIDDLE_PEM, SIGNER_KEY, SIGNER_PEM, MERCHANT_KEY, MERCHANT_PEM)
    if all((keys_dir / name).is_file() for name in names):
        return keys_dir
    now = dt.datetime.now(dt.UTC)
    root = issue("OpenPrepay Sandbox UnionPay Root CA", None, True, now)
    middle = issue("OpenPrepay Sandbox UnionPay Middle CA", root, True, now)
    made: list[Issued] = [root, middle, issue(SIGNER_CN, middle, False, now), issue(MERCHANT_CN, middle, False, now)]
    for issued, (key_name, cert_name) in zip(made, zip(names[::2], names[1::2], strict=True), strict=True):
        _write(keys_dir / key_name, key_pem(issued.key), private=True)
        _write(keys_dir / cert_name, pem(issued.cert), private=False)
    return keys_dir


def read_certs(keys_dir: Path) -> SandboxCerts:
    """Read the sandbox's files (blocking)."""

    def text(name: str) -> str:
        return (keys_dir / name).read_text()

    return SandboxCerts(load_cert(text(ROOT_PEM)), load_cert(text(MIDDLE_PEM)), load_key(text(SIGNER_KEY)),
                        load_cert(text(SIGNER_PEM)), load_key(text(MERCHANT_KEY)), load_cert(text(MERCHANT_PEM)))
