"""RSA2 signing: the canonical string vector, openssl agreement, key formats, notify and response verification."""
from __future__ import annotations

import base64
import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest
from Crypto.PublicKey import RSA

from integrations.alipay.client import AlipayClient, AlipayError, AlipaySettings
from integrations.alipay.const import METHOD_QUERY, METHOD_WAP_PAY
from integrations.topup.forms import parse_form
from integrations.alipay.signing import (
    build_signed_response,
    canonical_string,
    extract_signed_response,
    verify_notify,
)
from integrations.topup.signing import KeyFormatError, load_private_key, load_public_key, sign, verify
from scada_core.clock import Clock

VECTOR = (
    'app_id=2021000000000000&biz_content={"out_trade_no":"TU20261124000001","total_amount":"50.00",'
    '"subject":"电费充值-A1203","product_code":"QUICK_WAP_WAY"}&charset=utf-8&format=JSON&'
    "method=alipay.trade.wap.pay&notify_url=https://pay.example.com/alipay/notify&sign_type=RSA2&"
    "timestamp=2026-11-24 10:00:00&version=1.0"
)


@pytest.fixture(scope="module")
def app_key(keys_dir: Path) -> RSA.RsaKey:
    """The app's private key."""
    return load_private_key((keys_dir / "app_private.pem").read_text())


def _client(key: RSA.RsaKey, return_url: str | None = None) -> AlipayClient:
    clock = Clock("Asia/Shanghai")
    clock.set_now(datetime(2026, 11, 24, 2, 0, 0, tzinfo=timezone.utc))
    settings = AlipaySettings("2021000000000000", "https://gw.example/gateway.do",
                              "https://pay.example.com/alipay/notify", return_url, key, key.public_key())
    return AlipayClient(settings, None, clock)  # type: ignore[arg-type]


def test_canonical_string_matches_the_worked_vector(app_key: RSA.RsaKey) -> None:
    """The documented vector: empty return_url dropped, raw values, ASCII order, 316 UTF-8 bytes."""
    biz = {"out_trade_no": "TU20261124000001", "total_amount": "50.00", "subject": "电费充值-A1203",
           "product_code": "QUICK_WAP_WAY"}
    client = _client(app_key, return_url="")
    params = client.common_params(METHOD_WAP_PAY, biz, return_url="")
    params["return_url"] = ""
    assert canonical_string(params) == VECTOR
    assert len(VECTOR.encode()) == 316


def test_signature_equals_openssl(app_key: RSA.RsaKey, keys_dir: Path, tmp_path: Path) -> None:
    """PKCS#1 v1.5 + SHA-256 is deterministic: our base64 equals `openssl dgst -sha256 -sign`."""
    data = tmp_path / "s.txt"
    data.write_bytes(VECTOR.encode())
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(keys_dir / "app_private.pem"), str(data)],
        check=True, capture_output=True,
    ).stdout
    assert sign(VECTOR, app_key) == base64.b64encode(out).decode()
    assert verify(VECTOR, sign(VECTOR, app_key), app_key.public_key())
    assert not verify(VECTOR + "x", sign(VECTOR, app_key), app_key.public_key())
    assert not verify(VECTOR, "not base64!!", app_key.public_key())


def test_bare_base64_keys_are_wrapped(app_key: RSA.RsaKey) -> None:
    """The one-line keys of Alipay's key tool import (PKCS#8 private, SPKI public); junk is refused clearly."""
    pem = app_key.export_key(pkcs=8).decode()
    bare = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    assert load_private_key(bare).n == app_key.n
    pub_pem = app_key.public_key().export_key().decode()
    pub_bare = "".join(line for line in pub_pem.splitlines() if not line.startswith("-----"))
    assert load_public_key(pub_bare).n == app_key.n
    with pytest.raises(KeyFormatError):
        load_private_key("bm90IGEga2V5")
    with pytest.raises(KeyFormatError):
        load_private_key(pub_bare)


def test_notify_verification_excludes_sign_type_and_survives_plus(app_key: RSA.RsaKey) -> None:
    """sign and sign_type are left out; a '+' in the base64 survives one form decoding; unknown fields count."""
    form = {"app_id": "1", "out_trade_no": "T1", "total_amount": "0.10", "fund_bill_list": '[{"a":"b"}]',
            "auth_app_id": "1", "sign_type": "RSA2"}
    form["sign"] = sign(canonical_string(form, ("sign", "sign_type")), app_key)
    for _ in range(50):  # find a signature containing '+', as real ones often do
        if "+" in form["sign"]:
            break
        form["notify_id"] = form.get("notify_id", "") + "x"
        form["sign"] = sign(canonical_string(form, ("sign", "sign_type")), app_key)
    parsed = parse_form(urlencode(form).encode())
    assert parsed == form
    assert verify_notify(parsed, app_key.public_key())
    assert not verify_notify({**parsed, "total_amount": "0.1"}, app_key.public_key())
    assert not verify_notify({**parsed, "extra": "1"}, app_key.public_key())
    assert parse_form(b"a=1&a=2") is None


def test_sync_response_verified_on_the_raw_substring(app_key: RSA.RsaKey) -> None:
    """The signed text is cut from the raw body; re-serialised JSON would differ (spaces, unicode)."""
    inner = '{"code": "10000", "msg": "Success", "buyer": "张三", "total_amount": "50.00"}'
    raw = f'{{"alipay_trade_query_response": {inner},"sign":"{sign(inner, app_key)}"}}'
    content, signature = extract_signed_response(raw, METHOD_QUERY)
    assert content == inner
    client = _client(app_key)
    assert client.parse_response(METHOD_QUERY, raw)["buyer"] == "张三"
    tampered = raw.replace("50.00", "5000.00")
    with pytest.raises(AlipayError, match="signature"):
        client.parse_response(METHOD_QUERY, tampered)
    ours = build_signed_response(METHOD_QUERY, {"code": "10000"}, app_key)
    assert client.parse_response(METHOD_QUERY, ours) == {"code": "10000"}
    unsigned = json.dumps({"error_response": {"code": "40002", "sub_code": "isv.invalid-signature"}})
    with pytest.raises(AlipayError, match="unsigned"):
        client.parse_response(METHOD_QUERY, unsigned)
