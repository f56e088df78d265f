"""Alipay's RSA2 parameter signing: canonical strings, signed params, notifications and sync responses."""
from __future__ import annotations

import json
from collections.abc import Mapping

from Crypto.PublicKey import RSA

from integrations.topup.signing import sign, verify


def canonical_string(params: Mapping[str, str], exclude: tuple[str, ...] = ("sign",)) -> str:
    """Return the string to sign: non-empty params minus ``exclude``, sorted by key, raw ``k=v`` joined by '&'."""
    items = sorted((k, v) for k, v in params.items() if k not in exclude and v is not None and v != "")
    return "&".join(f"{k}={v}" for k, v in items)


def sign_params(params: Mapping[str, str], key: RSA.RsaKey) -> dict[str, str]:
    """Return ``params`` plus ``sign`` over their canonical string (sign_type stays in, as the platform does)."""
    signed = dict(params)
    signed["sign"] = sign(canonical_string(params), key)
    return signed


def verify_params(params: Mapping[str, str], key: RSA.RsaKey, exclude: tuple[str, ...]) -> bool:
    """Verify ``params['sign']`` over the canonical string without ``exclude``."""
    signature = params.get("sign")
    if not signature:
        return False
    return verify(canonical_string(params, exclude), signature, key)


def verify_notify(form: Mapping[str, str], key: RSA.RsaKey) -> bool:
    """Verify an asynchronous notification: ``sign`` and ``sign_type`` left out, every other field in."""
    return verify_params(form, key, ("sign", "sign_type"))


def response_key(method: str) -> str:
    """Return the JSON key of a sync response, e.g. alipay_trade_query_response."""
    return method.replace(".", "_") + "_response"


def extract_signed_response(raw: str, method: str) -> tuple[str | None, str | None]:
    """Return (exact raw substring of the ``…_response`` object, sign) from a sync response body."""
    decoder = json.JSONDecoder()
    for key in (response_key(method), "error_response"):
        marker = f'"{key}"'
        start = raw.find(marker)
        if start < 0:
            continue
        colon = raw.index(":", start + len(marker))
        begin = colon + 1
        while raw[begin] in " \t\r\n":
            begin += 1
        _, end = decoder.raw_decode(raw, begin)
        signature = json.loads(raw).get("sign")
        return raw[begin:end], signature
    return None, None


def build_signed_response(method: str, body: Mapping[str, object], key: RSA.RsaKey) -> str:
    """Return a sync response text ``{"…_response":{…},"sign":"…"}`` signed over the exact inner text."""
    inner = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return f'{{"{response_key(method)}":{inner},"sign":"{sign(inner, key)}"}}'
