"""check-config refuses what run would refuse, as file:line: key -> path: problem; run's config load agrees.

Each case is written to a temporary configuration directory, checked by the real command line
(`python -m scada_core check-config -c DIR`) and by `load_config`, the path `run` loads its configuration by.
"""
from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scada_core.config import load_config
from scada_core.exceptions import ConfigError
from tests.helpers import free_port


ROOT = Path(__file__).resolve().parents[2]

MODBUS = "modbus:\n  - {name: ss1, type: rtu_over_tcp, host: 127.0.0.1, port: 5021}\n"
METERS = "acrel_dtsy1352:\n  - bus: ss1\n    meters:\n      - {name: m1, address: 1}\n"
FLAT = "billing:\n  buildings:\n    b1:\n      tariff: {kind: flat, price: '0.80'}\n"
B1 = "billing -> buildings -> b1"


def tou(periods: str = "[{start: '00:00', rate: flat}]", extra: str = "") -> str:
    """A billing section whose building has a TOU tariff (its prices on line 6, its periods on line 7)."""
    return (
        "billing:\n  buildings:\n    b1:\n      tariff:\n        kind: tou\n"
        "        prices: {sharp: '1.2', peak: '1.0', flat: '0.8', valley: '0.4'}\n"
        f"        periods: {periods}\n{extra}"
    )


@dataclass
class Case:
    """A configuration (file name -> text or bytes; {port} is a free port) and the error it must give."""

    files: dict[str, str | bytes]
    error: str
    hold_port: bool = False  # another program listens on {port} while the check runs


CASES: dict[str, Case] = {
    # 1. an invalid tariff, a non-UTF-8 file, include recursion, very deep nesting
    "tariff_negative_price": Case(
        {"configuration.yaml": FLAT.replace("'0.80'", "'-1'")},
        "configuration.yaml:4: billing -> buildings -> b1 -> tariff -> price: price '-1' must be >= 0",
    ),
    "tariff_kind_weird": Case(
        {"configuration.yaml": FLAT.replace("kind: flat", "kind: weird")},
        f"configuration.yaml:4: {B1} -> tariff -> kind: kind must be one of flat, tou, tiered, "
        "got 'weird'",
    ),
    "tariff_kind_a_list": Case(
        {"configuration.yaml": FLAT.replace("kind: flat", "kind: [flat]")},
        f"configuration.yaml:4: {B1} -> tariff -> kind: kind must be one of flat, tou, tiered, "
        "got ['flat']",
    ),
    "tariff_start_25_00": Case(
        {"configuration.yaml": tou("[{start: '25:00', rate: flat}]")},
        f"configuration.yaml:7: {B1} -> tariff -> periods -> 0 -> start: time '25:00' is not HH:MM",
    ),
    "tariff_month_13": Case(
        {"configuration.yaml": tou(extra="        seasons:\n          - months: [13]\n"
                                         "            periods: [{start: '00:00', rate: peak}]\n")},
        f"configuration.yaml:9: {B1} -> tariff -> seasons -> 0 -> months -> 0: "
        "value must be at most 12",
    ),
    "tariff_missing_rate": Case(
        {"configuration.yaml": tou().replace(", valley: '0.4'", "")},
        f"configuration.yaml:6: {B1} -> tariff -> prices -> valley: required key is missing",
    ),
    "non_utf8_file": Case(
        {"configuration.yaml": "core: !include core.yaml\n",
         "core.yaml": "name: \xb2\xe2\xca\xd4\n".encode("latin-1")},  # 测试 in GBK
        "core.yaml:1: core -> name: not UTF-8 text (byte 0xb2)",
    ),
    "include_recursion": Case(
        {"configuration.yaml": "core: !include core.yaml\n", "core.yaml": "name: !include core.yaml\n"},
        "core.yaml:1: core -> name: core.yaml includes itself (configuration.yaml -> core.yaml -> core.yaml)",
    ),
    "deep_nesting": Case(
        {"configuration.yaml": "core:\n  name: " + "[" * 100_000 + "]" * 100_000 + "\n"},
        "configuration.yaml:2: core -> name -> 0 -> 0",
    ),
    "alias_inside_its_anchor": Case(
        {"configuration.yaml": "core:\n  name: &a [1, *a]\n"},
        "configuration.yaml:2: core -> name -> 1: alias *a is inside its own anchor",
    ),
    "secrets_cycle": Case(
        {"configuration.yaml": "core:\n  name: !secret tower\n", "secrets.yaml": "tower: !secret tower\n"},
        "secrets.yaml:1: core -> name -> tower: secrets.yaml includes itself",
    ),
    "env_var_default_not_yaml": Case(
        {"configuration.yaml": "core:\n  name: !env_var OPENPREPAY_TEST_UNSET " + "[" * 5000 + "\n"},
        "configuration.yaml:2: core -> name: the default of !env_var OPENPREPAY_TEST_UNSET is not a "
        "plain YAML value",
    ),
    # 2. what run used to break on
    "meter_on_missing_bus": Case(
        {"configuration.yaml": MODBUS + METERS.replace("bus: ss1", "bus: ss9")},
        "configuration.yaml:4: acrel_dtsy1352 -> 0 -> bus: no bus 'ss9' under modbus: (known: ss1)",
    ),
    "unknown_meter_profile": Case(
        {"configuration.yaml": MODBUS + "modbus_meter:\n  - bus: ss1\n    profile: nope\n"
                               "    meters: [{name: p1, address: 1}]\n"},
        "configuration.yaml:5: modbus_meter -> 0 -> profile: profile nope does not load: nope.yaml: "
        "cannot read",
    ),
    "empty_admin_password": Case(
        {"configuration.yaml": "web:\n  admin:\n    username: admin\n    password: ''\n"},
        "configuration.yaml:4: web -> admin -> password: must have at least 8 characters",
    ),
    "two_simulators_one_port": Case(
        {"configuration.yaml": "dtsy1352_simulator:\n  servers:\n    - {port: {port}, units: 1-3}\n"
                               "    - {port: {port}, units: 4-6}\n"},
        "configuration.yaml:4: dtsy1352_simulator -> servers -> 1 -> port: port {port} is already used by "
        "dtsy1352_simulator -> servers -> 0 -> port (configuration.yaml:3)",
    ),
    "simulator_on_the_http_port": Case(
        {"configuration.yaml": "http:\n  host: localhost\n  port: {port}\ndtsy1352_simulator:\n  servers:\n"
                               "    - {host: 127.0.0.1, port: {port}, units: 1-3}\n"},
        "configuration.yaml:6: dtsy1352_simulator -> servers -> 0 -> port: port {port} is already used by "
        "http -> port (configuration.yaml:3)",
    ),
    "http_port_in_use": Case(
        {"configuration.yaml": "http:\n  port: {port}\n"},
        "configuration.yaml:2: http -> port: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another program holds it; checked by binding it briefly)",
        hold_port=True,
    ),
    "simulator_port_in_use": Case(
        {"configuration.yaml": "dtsy1352_simulator:\n  servers:\n    - {port: {port}, units: 1-3}\n"},
        "configuration.yaml:3: dtsy1352_simulator -> servers -> 0 -> port: cannot listen on 127.0.0.1:{port}",
        hold_port=True,
    ),
    # 3. refused too
    "topup_min_amount_zero": Case(
        {"configuration.yaml": "alipay:\n  sandbox: {port: 0}\n  min_amount: '0'\n"},
        "configuration.yaml:3: alipay -> min_amount: min_amount must be at least 0.01, got 0.00",
    ),
    "topup_amount_huge": Case(
        {"configuration.yaml": "alipay:\n  sandbox: {port: 0}\n  max_amount: 1" + "0" * 30 + "\n"},
        "configuration.yaml:3: alipay -> max_amount: not an amount in yuan with at most two decimals: 1000000000000000000000000000000",
    ),
    "topup_min_above_max": Case(
        {"configuration.yaml": "wechatpay:\n  sandbox: {port: 0}\n"
                               "  min_amount: '100.00'\n  max_amount: '50.00'\n"},
        "configuration.yaml:3: wechatpay -> min_amount: min_amount 100.00 is above max_amount 50.00",
    ),
    "alarm2_above_alarm1": Case(
        {"configuration.yaml": FLAT + "      alarm1_fen: 2000\n      alarm2_fen: 5000\n"},
        f"configuration.yaml:6: {B1} -> alarm2_fen: alarm2_fen 5000 is above alarm1_fen 2000",
    ),
    "flat_price_above_meter": Case(
        {"configuration.yaml": MODBUS + METERS + FLAT.replace("'0.80'", "'100'")},
        f"configuration.yaml:10: {B1} -> tariff -> price: price '100' must be between 0 and "
        "99.9999 yuan/kWh (meter acrel_dtsy1352.m1 refuses it)",
    ),
    "tou_price_above_meter": Case(
        {"configuration.yaml": MODBUS + METERS + tou().replace("sharp: '1.2'", "sharp: '120'")},
        f"configuration.yaml:12: {B1} -> tariff -> prices -> sharp: price '120' must be between "
        "0 and 99.9999 yuan/kWh (meter acrel_dtsy1352.m1 refuses it)",
    ),
    "tou_more_periods_than_the_meter_table": Case(
        {"configuration.yaml": MODBUS + METERS + tou(
            "[" + ", ".join(f"{{start: '{hour:02d}:00', rate: peak}}" for hour in range(15)) + "]"
        )},
        f"configuration.yaml:13: {B1} -> tariff -> periods: length of value must be at most 14 "
        "(meter acrel_dtsy1352.m1 refuses it)",
    ),
    "tou_season_more_periods_than_the_meter_table": Case(
        {"configuration.yaml": MODBUS + METERS + tou(extra="        seasons:\n          - months: [7, 8]\n"
                                                   "            periods: [" + ", ".join(
            f"{{start: '{hour:02d}:00', rate: peak}}" for hour in range(15)) + "]\n")},
        f"configuration.yaml:16: {B1} -> tariff -> seasons -> 0 -> periods: length of value must be at most 14 "
        "(meter acrel_dtsy1352.m1 refuses it)",
    ),
    "tiered_tariff_on_a_prepaid_meter": Case(
        {"configuration.yaml": MODBUS + METERS + FLAT.replace(
            "{kind: flat, price: '0.80'}", "{kind: tiered, bands: [{up_to_kwh: 200, price: '0.5'}, {price: '0.8'}]}")},
        f"configuration.yaml:10: {B1} -> tariff -> kind: meter acrel_dtsy1352.m1 deducts money itself and cannot "
        "switch tiered (阶梯) bands: use a flat or TOU tariff, or a server-billed meter",
    ),
    "base_url_renamed": Case(
        {"configuration.yaml": "http:\n  port: 0\n  base_url: https://pay.example.com\n"},
        "configuration.yaml:3: http -> base_url: base_url is not used: set external_url "
        "(https://host[:port], no path) for the URLs browsers and payment providers are sent back to",
    ),
    "empty_operator_name": Case(
        {"configuration.yaml": "web:\n  admin:\n    username: ''\n    password: long-enough\n"},
        "configuration.yaml:3: web -> admin -> username: must not be empty",
    ),
    "weak_password_hashing": Case(
        {"configuration.yaml": "web:\n  password_hash:\n    memory_kib: 1024\n"},
        "configuration.yaml:3: web -> password_hash -> memory_kib: from 19456 (OWASP's least for argon2id) to "
        "4194304 KiB",
    ),
    "missing_logo": Case(
        {"configuration.yaml": "web:\n  branding:\n    logo: branding/nope.svg\n"},
        "configuration.yaml:3: web -> branding -> logo: file branding/nope.svg not found",
    ),
    "simulator_range_backwards": Case(
        {"configuration.yaml": "dtsy1352_simulator:\n  servers:\n    - {port: 0, units: 5-1}\n"},
        "configuration.yaml:3: dtsy1352_simulator -> servers -> 0 -> units: bad unit list '5-1': "
        "range 5-1 runs backwards",
    ),
    "empty_modbus_host": Case(
        {"configuration.yaml": MODBUS.replace("host: 127.0.0.1", "host: ''")},
        "configuration.yaml:2: modbus -> 0 -> host: must not be empty",
    ),
    "state_file_in_missing_folder": Case(
        {"configuration.yaml": "dtsy1352_simulator:\n  state_file: gone/sim.json\n"
                               "  servers:\n    - {port: 0, units: 1-3}\n"},
        "configuration.yaml:2: dtsy1352_simulator -> state_file: folder",
    ),
    "smtp_ca_file_missing": Case(
        {"configuration.yaml": "notify:\n  email:\n    host: smtp.example.com\n    sender: a@example.com\n"
                               "    ca_file: certs/ca.pem\n"},
        "configuration.yaml:5: notify -> email -> ca_file: file certs/ca.pem not found",
    ),
    "smtp_ca_file_no_certificate": Case(
        {"configuration.yaml": "notify:\n  email:\n    host: smtp.example.com\n    sender: a@example.com\n"
                               "    ca_file: ca.pem\n", "ca.pem": "not a certificate\n"},
        "configuration.yaml:5: notify -> email -> ca_file: ca.pem holds no usable PEM certificate",
    ),
    "alipay_key_unusable": Case(
        {"configuration.yaml": "alipay:\n  app_id: '2021000000000000'\n  seller_id: '2088000000000000'\n"
                               "  private_key: not a key\n  alipay_public_key_file: alipay.pem\n",
         "alipay.pem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"},
        "configuration.yaml:4: alipay -> private_key: key unusable: not an RSA private key",
    ),
    "wechatpay_key_file_missing": Case(
        {"configuration.yaml": "wechatpay:\n  mchid: '1230000109'\n  appid: wx1\n"
                               "  serial_no: 5157F09EFDC096DE\n  private_key_file: apiclient_key.pem\n"
                               "  apiv3_key: 0123456789abcdef0123456789abcdef\n"
                               "  platform_certificates: auto\n"},
        "configuration.yaml:5: wechatpay -> private_key_file: file apiclient_key.pem not found",
    ),
    "sms_record_in_missing_folder": Case(
        {"configuration.yaml": "sms_modem:\n  simulate: true\n  simulate_record: gone/sms.jsonl\n"},
        "configuration.yaml:3: sms_modem -> simulate_record: folder",
    ),
    "friendly_credit_opt_out_of_missing_meter": Case(
        {"configuration.yaml": MODBUS + METERS
                               + "friendly_credit:\n  opt_out: [acrel_dtsy1352.m1, acrel_dtsy1352.m9]\n"},
        "configuration.yaml:8: friendly_credit -> opt_out -> 1: no meter acrel_dtsy1352.m9 in the "
        "configuration",
    ),
    "tenant_on_missing_meter": Case(
        {"configuration.yaml": MODBUS + METERS + "alipay:\n  sandbox: {port: 0}\n  tenants:\n"
                               "    - {meter: acrel_dtsy1352.m2, name: 商铺, password: secret-1}\n"},
        "configuration.yaml:10: alipay -> tenants -> 0 -> meter: no meter acrel_dtsy1352.m2 in the "
        "configuration",
    ),
}


@pytest.fixture
def held_port() -> Iterator[Callable[[], int]]:
    """Listen on a free port, as another program would, until the test ends."""
    sockets: list[socket.socket] = []

    def hold() -> int:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sockets.append(sock)
        return int(sock.getsockname()[1])

    yield hold
    for sock in sockets:
        sock.close()


@pytest.mark.parametrize("name", CASES)
def test_check_config_and_run_refuse(name: str, tmp_path: Path, held_port: Callable[[], int]) -> None:
    case = CASES[name]
    port = held_port() if case.hold_port else free_port()
    for file, content in case.files.items():
        data = content.replace("{port}", str(port)).encode("utf-8") if isinstance(content, str) else content
        (tmp_path / file).write_bytes(data)
    expected = case.error.replace("{port}", str(port))

    result = subprocess.run(
        [sys.executable, "-m", "scada_core", "check-config", "-c", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Invalid configuration"), result.stderr
    assert any(line.strip().startswith(expected) for line in lines[1:]), result.stderr

    with pytest.raises(ConfigError) as refused:
        load_config(tmp_path)
    assert any(error.startswith(expected) for error in refused.value.errors), refused.value.errors


def test_run_refuses_a_port_in_use_like_check_config(tmp_path: Path, held_port: Callable[[], int]) -> None:
    """`run` stops before starting anything, with the same line, when its HTTP port is taken."""
    port = held_port()
    (tmp_path / "configuration.yaml").write_text(f"http:\n  port: {port}\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "scada_core", "run", "-c", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    where = "configuration.yaml:2: http -> port"
    expected = f"{where}: cannot listen on 127.0.0.1:{port}: Address already in use"
    assert expected in result.stderr
    assert not (tmp_path / "openprepay.db").exists(), "nothing was started"


def test_check_config_says_it_probed_the_ports(tmp_path: Path) -> None:
    """A valid configuration names the ports check-config bound briefly to see they are free."""
    port = free_port()
    (tmp_path / "configuration.yaml").write_text(f"http:\n  port: {port}\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "scada_core", "check-config", "-c", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "configuration valid",
        f"ports free (each bound briefly to check): 127.0.0.1:{port}",
    ]
