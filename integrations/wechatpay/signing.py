"""API v3 signatures: a request's Authorization header, the signed messages of answers and notifications."""

from __future__ import annotations

import re
import secrets
import string

from Crypto.PublicKey import RSA

from integrations.topup.signing import sign, verify

from .const import AUTH_SCHEME, NONCE_CHARS

_NONCE_ALPHABET = string.ascii_uppercase + string.digits
_AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


def new_nonce(length: int = NONCE_CHARS) -> str:
    """Return a random nonce of upper-case letters and digits."""
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(length))


def request_message(method: str, path_query: str, timestamp: str, nonce: str, body: str) -> str:
    """Return what a request signs: ``METHOD\\nPATH?QUERY\\nTS\\nNONCE\\nBODY\\n`` (BODY empty for GET)."""
    return f"{method}\n{path_query}\n{timestamp}\n{nonce}\n{body}\n"


def answer_message(timestamp: str, nonce: str, body: str) -> str:
    """Return the string an answer or a notification signs: ``TS\\nNONCE\\nBODY\\n`` over the raw body."""
    return f"{timestamp}\n{nonce}\n{body}\n"


def authorization(
    mchid: str,
    serial_no: str,
    key: RSA.RsaKey,
    method: str,
    path_query: str,
    body: str,
    timestamp: str,
    nonce: str,
) -> str:
    """Return the ``Authorization`` header value of one request, signed with the merchant's private key."""
    signature = sign(request_message(method, path_query, timestamp, nonce, body), key)
    return (
        f'{AUTH_SCHEME} mchid="{mchid}",nonce_str="{nonce}",signature="{signature}",'
        f'timestamp="{timestamp}",serial_no="{serial_no}"'
    )


def parse_authorization(header: str) -> dict[str, str] | None:
    """Return the parameters of an ``Authorization`` header, or None when it is not our scheme."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme != AUTH_SCHEME:
        return None
    return dict(_AUTH_PARAM.findall(rest))


def verify_request(params: dict[str, str], key: RSA.RsaKey, method: str, path_query: str, body: str) -> bool:
    """Tell whether a parsed ``Authorization`` signs this request under the merchant's public ``key``."""
    message = request_message(
        method, path_query, params.get("timestamp", ""), params.get("nonce_str", ""), body
    )
    return verify(message, params.get("signature", ""), key)
