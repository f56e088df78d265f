"""The `tenant:` section has no options of its own: any key in it is a mistake, named by file and line."""
from __future__ import annotations

from pathlib import Path

import pytest

from scada_core.config import load_config
from scada_core.exceptions import ConfigError


def _load(folder: Path, text: str) -> list[str]:
    """Load ``text`` as configuration.yaml; return the errors (none when it loads)."""
    (folder / "configuration.yaml").write_text(text, encoding="utf-8")
    try:
        load_config(folder)
    except ConfigError as err:
        return err.errors
    return []


def test_tenant_refuses_unknown_keys(tmp_path: Path) -> None:
    """A key under `tenant:` (say, a provider's option in the wrong section) is refused where it stands."""
    errors = _load(tmp_path, "http:\n  port: 0\ntenant:\n  kiosk_idle: 30\n")
    assert errors == ["configuration.yaml:4: tenant -> kiosk_idle: unknown key"]


@pytest.mark.parametrize("section", ["tenant:\n", "tenant: {}\n"])
def test_an_empty_tenant_section_loads(tmp_path: Path, section: str) -> None:
    """`tenant:` alone, or empty, is fine."""
    assert _load(tmp_path, f"http:\n  port: 0\n{section}") == []
