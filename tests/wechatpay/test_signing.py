"""API v3 crypto without a site: AES-256-GCM resources, the Authorization header, answer verification."""

from __future__ import annotations

import base64
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from integrations.topup.signing import load_private_key, load_public_key, sign
from integrations.wechatpay.aead import decrypt, encrypt
from integrations.wechatpay.signing import (
    answer_message,
    authorization,
    parse_authorization,
    request_message,
    verify_request,
)
from integrations.wechatpay.verifier import SignatureError, WeChatPayVerifier
from scada_core.clock import Clock
from scada_core.core import Core

KEY = b"0123456789abcdef0123456789abcdef"
PLAIN = b'{"out_trade_no":"T1","trade_state":"SUCCESS","amount":{"total":100}}'
VECTOR = (
    "Eu6myr+6GaECeJdOZPZ6BX5lij2Vohspf9pbw6Eor54J6prefQGx4A8pw4Iiseaw8SDSwJlkDdmqkDsswI+y"
    "dPzD9LDlVPE9736xQBZX0euJOacB"
)


def test_aes_gcm_matches_the_published_vector() -> None:
    """Our encryption gives the reference ciphertext, decryption reverses it, any change is refused."""
    assert encrypt(KEY, "abcdefghijkl", "transaction", PLAIN) == VECTOR
    assert decrypt(KEY, "abcdefghijkl", "transaction", VECTOR) == PLAIN
    for nonce, aad, ciphertext in (
        ("abcdefghijkm", "transaction", VECTOR),
        ("abcdefghijkl", "", VECTOR),
        ("abcdefghijkl", "transaction", "F" + VECTOR[1:]),
        ("abcdefghijkl", "transaction", "%%%"),
        ("abcdefghijkl", "transaction", "AAAA"),
    ):
        with pytest.raises(ValueError):
            decrypt(KEY, nonce, aad, ciphertext)
    with pytest.raises(ValueError):
        decrypt(KEY[:16], "abcdefghijkl", "transaction", VECTOR)


def test_authorization_header(wechat_keys_dir: Path) -> None:
    """The header names scheme, mchid, nonce, timestamp, serial, and signs METHOD PATH?QUERY TS NONCE BODY."""
    private = load_private_key((wechat_keys_dir / "apiclient_key.pem").read_text())
    public = load_public_key((wechat_keys_dir / "apiclient_public.pem").read_text())
    body = '{"mchid":"1900000109"}'
    header = authorization(
        "1900000109", "ABCDEF01", private, "POST", "/v3/x?mchid=1", body, "1700000000", "N1"
    )
    assert header.startswith('WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="N1",signature="')
    params = parse_authorization(header)
    assert params is not None and params["timestamp"] == "1700000000" and params["serial_no"] == "ABCDEF01"
    assert request_message("GET", "/v3/x?mchid=1", "1", "N", "") == "GET\n/v3/x?mchid=1\n1\nN\n\n"
    assert verify_request(params, public, "POST", "/v3/x?mchid=1", body)
    assert not verify_request(params, public, "POST", "/v3/x?mchid=2", body)
    assert not verify_request(params, public, "POST", "/v3/x?mchid=1", body + " ")
    assert parse_authorization("Basic abc") is None


def test_verifier_refuses_what_is_not_fresh_and_signed(wechat_keys_dir: Path) -> None:
    """Probe, unknown serial, bad headers, old or future timestamps and bad signatures each get their kind."""
    key = load_private_key((wechat_keys_dir / "wechatpay_private.pem").read_text())
    clock = Clock()
    clock.freeze(datetime(2026, 12, 6, 23, 59, 30, tzinfo=timezone.utc))  # a busy machine's second passing moves no edge
    verifier = WeChatPayVerifier(
        {"PUB_KEY_ID_1": load_public_key((wechat_keys_dir / "pub_key.pem").read_text())}, clock
    )
    body = '{"ok":true}'

    def headers(ts: int, signature: str | None = None, serial: str = "PUB_KEY_ID_1") -> dict[str, str]:
        return {
            "Wechatpay-Timestamp": str(ts),
            "Wechatpay-Nonce": "NONCE",
            "Wechatpay-Serial": serial,
            "Wechatpay-Signature": signature or sign(answer_message(str(ts), "NONCE", body), key),
        }

    now = int(clock.timestamp())
    verifier.verify(headers(now), body.encode())
    cases = [
        (headers(now, "WECHATPAY/SIGNTEST/" + base64.b64encode(b"x").decode()), "signtest_probe"),
        (headers(now, serial="PUB_KEY_ID_2"), "unknown_serial"),
        ({**headers(now), "Wechatpay-Timestamp": "soon"}, "malformed"),
        (headers(now - 301), "stale_timestamp"),
        (headers(now + 301), "stale_timestamp"),
        (headers(now, "not base64!"), "bad_signature"),
        (headers(now, base64.b64encode(b"\0" * 256).decode()), "bad_signature"),
    ]
    for case_headers, kind in cases:
        with pytest.raises(SignatureError) as caught:
            verifier.verify(case_headers, body.encode())
        assert caught.value.kind == kind
    with pytest.raises(SignatureError) as caught:
        verifier.verify(headers(now), b'{"ok":false}')
    assert caught.value.kind == "bad_signature"
    with pytest.raises(SignatureError):
        verifier.verify(headers(now), b"\xff\xfe")


async def test_platform_certificate_mode(core: Core, wechat_keys_dir: Path, tmp_path: Path) -> None:
    """Keys from the configuration: a platform certificate (by serial) verifies answers signed by its key."""
    import subprocess  # noqa: PLC0415

    from integrations.wechatpay import load_keys  # noqa: PLC0415
    from integrations.wechatpay.config import CONFIG_SCHEMA  # noqa: PLC0415

    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(tmp_path / "k.pem"),
            "-out",
            str(tmp_path / "c.pem"),
            "-days",
            "1",
            "-subj",
            "/CN=Tenpay.com Root CA",
        ],
        check=True,
        capture_output=True,
    )
    config = CONFIG_SCHEMA(
        {
            "wechatpay": {
                "mchid": "1230000109",
                "appid": "wxd678efh567hg6787",
                "serial_no": "5157F09EFDC096DE",
                "private_key": (wechat_keys_dir / "apiclient_key.pem").read_text(),
                "apiv3_key": KEY.decode(),
                "platform_certificates": {"3775b6a45acd5888": (tmp_path / "c.pem").read_text()},
            }
        }
    )["wechatpay"]
    keys = load_keys(core.config.path, config, None)
    assert keys.apiv3_key == KEY and set(keys.verify_keys) == {"3775B6A45ACD5888"}
    platform_key = load_private_key((tmp_path / "k.pem").read_text())
    ts = str(int(time.time()))
    WeChatPayVerifier(keys.verify_keys, Clock()).verify(
        {
            "Wechatpay-Timestamp": ts,
            "Wechatpay-Nonce": "N",
            "Wechatpay-Serial": "3775B6A45ACD5888",
            "Wechatpay-Signature": sign(answer_message(ts, "N", "{}"), platform_key),
        },
        b"{}",
    )
