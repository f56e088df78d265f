"""`tenant:` and `topup:` have no options of their own: any key in them is a mistake, named by file and line."""
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


@pytest.mark.parametrize("domain", ["tenant", "topup"])
def test_unknown_keys_are_refused(tmp_path: Path, domain: str) -> None:
    """A key under the section (say, a provider's option in the wrong place) is refused where it stands."""
    errors = _load(tmp_path, f"http:\n  port: 0\n{domain}:\n  kiosk_idle: 30\n")
    assert errors == [f"configuration.yaml:4: {domain} -> kiosk_idle: unknown key"]


@pytest.mark.parametrize("section", ["tenant:\n", "tenant: {}\n", "topup:\n", "topup: {}\n"])
def test_an_empty_section_loads(tmp_path: Path, section: str) -> None:
    """The section alone, or empty, is fine."""
    assert _load(tmp_path, f"http:\n  port: 0\n{section}") == []
