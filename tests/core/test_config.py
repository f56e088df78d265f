"""Configuration: includes, secrets, env vars, and every error form with file and line."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scada_core.config import load_config
from scada_core.exceptions import ConfigError

FAKE_BUS = '''
"""A custom integration for tests."""
import voluptuous as vol

DOMAIN = "fake_bus"
CONFIG_SCHEMA = vol.Schema(
    {DOMAIN: {vol.Required("buses"): [{vol.Required("name"): str, vol.Optional("baudrate", default=9600): int}],
              vol.Optional("password"): str}},
    extra=vol.ALLOW_EXTRA,
)
SETUPS = []


async def async_setup(core, config):
    SETUPS.append(config)
    core.data[DOMAIN] = config
    return True
'''


def write(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    write(tmp_path, "custom_integrations/fake_bus/manifest.yaml", "domain: fake_bus\nname: Fake bus\nversion: '1'\n")
    write(tmp_path, "custom_integrations/fake_bus/__init__.py", FAKE_BUS)
    return tmp_path


def errors_of(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(config_dir)
    return info.value.errors


def test_includes_secrets_and_env(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OP_NAME", "测试大厦")
    write(config_dir, "configuration.yaml", """
        core:
          name: !env_var OP_NAME
        fake_bus: !include bus.yaml
        """)
    write(config_dir, "bus.yaml", """
        buses:
          - name: b1
            baudrate: 4800
          - name: b2
        password: !secret bus_password
        """)
    write(config_dir, "secrets.yaml", "bus_password: s3cret\n")
    config = load_config(config_dir)
    assert config.core["name"] == "测试大厦"
    assert config.core["time_zone"] == "Asia/Shanghai"
    assert config.sections["fake_bus"] == {
        "buses": [{"name": "b1", "baudrate": 4800}, {"name": "b2", "baudrate": 9600}],
        "password": "s3cret",
    }
    assert config.order == ["fake_bus"]


def test_include_dir_named(config_dir: Path) -> None:
    write(config_dir, "configuration.yaml", "fake_bus:\n  buses: []\n  password: x\ncore: !include_dir_named core\n")
    write(config_dir, "core/name.yaml", "'Tower A'\n")
    write(config_dir, "core/language.yaml", "en\n")
    config = load_config(config_dir)
    assert config.core["name"] == "Tower A"
    assert config.core["language"] == "en"


def test_wrong_type_names_file_line_and_path(config_dir: Path) -> None:
    write(config_dir, "configuration.yaml", """
        core:
          name: Tower
        fake_bus:
          buses:
            - name: b1
              baudrate: fast
        """)
    assert errors_of(config_dir) == ["configuration.yaml:6: fake_bus -> buses -> 0 -> baudrate: expected int, got 'fast'"]


def test_error_inside_included_file_names_that_file(config_dir: Path) -> None:
    write(config_dir, "configuration.yaml", "fake_bus: !include bus.yaml\n")
    write(config_dir, "bus.yaml", "buses:\n  - name: b1\n  - name: b2\n    baudrate: slow\n")
    assert errors_of(config_dir) == ["bus.yaml:4: fake_bus -> buses -> 1 -> baudrate: expected int, got 'slow'"]


def test_unknown_key_missing_key_and_unknown_integration_all_reported(config_dir: Path) -> None:
    write(config_dir, "configuration.yaml", """
        http:
          prot: 8123
        fake_bus:
          buses:
            - baudrate: 9600
        no_such_thing:
          a: 1
        """)
    assert errors_of(config_dir) == [
        "configuration.yaml:2: http -> prot: unknown key",
        "configuration.yaml:5: fake_bus -> buses -> 0 -> name: required key is missing",
        "configuration.yaml:6: no_such_thing: unknown integration 'no_such_thing'",
    ]


def test_bad_yaml_syntax(config_dir: Path) -> None:
    write(config_dir, "configuration.yaml", "core:\n  name: [unclosed\nhttp:\n  port: 1\n")
    (error,) = errors_of(config_dir)
    assert error.startswith("configuration.yaml:3: invalid YAML")


def test_missing_secret_and_missing_env(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(config_dir, "configuration.yaml", "core:\n  name: !secret tower_name\n")
    write(config_dir, "secrets.yaml", "other: 1\n")
    assert errors_of(config_dir) == ["configuration.yaml:2: secret 'tower_name' not found in secrets.yaml"]
    monkeypatch.delenv("OP_MISSING", raising=False)
    write(config_dir, "configuration.yaml", "core:\n  name: !env_var OP_MISSING\n")
    assert errors_of(config_dir) == ["configuration.yaml:2: environment variable OP_MISSING is not set"]


def test_duplicate_key(config_dir: Path) -> None:
    write(config_dir, "configuration.yaml", "core:\n  name: a\n  name: b\n")
    assert errors_of(config_dir) == ["configuration.yaml:3: duplicate key 'name'"]


def test_impossible_date(config_dir: Path) -> None:
    write(config_dir, "configuration.yaml", "core:\n  name: x\nfake_bus:\n  buses: []\n  password: 2026-02-30\n")
    (error,) = errors_of(config_dir)
    assert error.startswith("configuration.yaml:5: invalid date '2026-02-30'")
