"""Tell whether a message (an answer or a notification) is UnionPay's, for our merchant."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from .certs import CertificateError, TrustChain
from .const import (
    FIELD_CERT,
    SEC_BAD_CERTIFICATE,
    SEC_BAD_SIGNATURE,
    SEC_MERCHANT_MISMATCH,
    SIGN_METHOD_RSA,
    VERSION,
)
from .signing import verify_params


def refusal(params: Mapping[str, str], chain: TrustChain, now: dt.datetime, mer_id: str) -> tuple[str, str] | None:
    """Return (security event kind, detail) when ``params`` is not a message UnionPay signed for ``mer_id``, else
    None: signPubKeyCert chains to the trusted root through the middle certificate and is UnionPay's, the
    signature verifies under it, and merId is ours."""
    if params.get("version") != VERSION or params.get("signMethod") != SIGN_METHOD_RSA:
        return SEC_BAD_SIGNATURE, "not a version 5.1.0 signMethod 01 message"
    try:
        cert = chain.check(params.get(FIELD_CERT, ""), now)
    except CertificateError as err:
        return SEC_BAD_CERTIFICATE, str(err)
    if not verify_params(params, cert):
        return SEC_BAD_SIGNATURE, "signature does not verify"
    if params.get("merId") != mer_id:
        return SEC_MERCHANT_MISMATCH, "merId is not ours"
    return None
