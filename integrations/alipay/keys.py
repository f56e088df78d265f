"""Key files for the sandbox and the demo: generated once, private ones readable by the owner only."""
from __future__ import annotations

import os
from pathlib import Path

from integrations.topup.signing import generate_keypair

from .const import ALIPAY_PRIVATE_PEM, ALIPAY_PUBLIC_PEM, APP_PRIVATE_PEM, APP_PUBLIC_PEM


def ensure_keys(keys_dir: Path) -> Path:
    """Create the app and the sandbox-Alipay key pairs in ``keys_dir`` unless present (blocking)."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    ignore = keys_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# generated sandbox keys: never commit\n*\n")
    for private_name, public_name in ((APP_PRIVATE_PEM, APP_PUBLIC_PEM), (ALIPAY_PRIVATE_PEM, ALIPAY_PUBLIC_PEM)):
        private_path, public_path = keys_dir / private_name, keys_dir / public_name
        if private_path.is_file() and public_path.is_file():
            continue
        private, public = generate_keypair()
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(private)
        public_path.write_text(public)
    return keys_dir


def read_key(keys_dir: Path, name: str) -> str:
    """Return the text of one key file."""
    return (keys_dir / name).read_text()
