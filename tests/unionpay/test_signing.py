"""ACP 5.1.0 signatures and the certificate chain: a message verifies only under a signing certificate the
trusted middle certificate issued to UnionPay, inside every certificate's validity."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from integrations.unionpay.certs import CertificateError, TrustChain, cert_id, issue, pem
from integrations.unionpay.const import UNIONPAY_SIGNER
from integrations.unionpay.keys import SIGNER_CN, read_certs
from integrations.unionpay.signing import sign_params, signing_string, verify_params
from integrations.unionpay.verify import refusal

NOW = dt.datetime.now(dt.UTC)
MESSAGE = {"version": "5.1.0", "signMethod": "01", "merId": "777290058110048", "orderId": "UP2026120512000001",
           "txnAmt": "5000", "respMsg": "成功[0000000]"}


def test_signing_string_is_sorted_and_leaves_out_the_signature() -> None:
    """Fields sorted by name, k=v joined by '&', the signature itself left out."""
    assert signing_string({"b": "2", "a": "1", "signature": "x"}) == "a=1&b=2"


def test_a_signature_verifies_and_any_change_breaks_it(certs_dir: Path) -> None:
    """A signed message verifies under its certificate; a changed value, an added field or another
    certificate does not; a signature that is not base64 is simply False."""
    certs = read_certs(certs_dir)
    signed = sign_params(MESSAGE, certs.signer_key)
    assert verify_params(signed, certs.signer)
    assert not verify_params({**signed, "txnAmt": "500000"}, certs.signer)
    assert not verify_params({**signed, "extra": "1"}, certs.signer)
    assert not verify_params(signed, certs.merchant)
    for bad in ("", "!!!", "你好", "A" * 100_000):
        assert not verify_params({**signed, "signature": bad}, certs.signer)


def _signed_by(certs_dir: Path, key: object, cert: object) -> dict[str, str]:
    return sign_params({**MESSAGE, "signPubKeyCert": pem(cert)}, key)  # type: ignore[arg-type]


def test_only_unionpays_certificate_under_the_trusted_chain_is_taken(certs_dir: Path) -> None:
    """Refused: a certificate from another root, the merchant's own (same middle, not UnionPay's), a CA
    certificate, garbage, and a genuine one outside its validity."""
    certs = read_certs(certs_dir)
    chain = TrustChain(certs.root, certs.middle, UNIONPAY_SIGNER)
    mer_id = MESSAGE["merId"]
    assert refusal(_signed_by(certs_dir, certs.signer_key, certs.signer), chain, NOW, mer_id) is None
    other_root = issue("Other Root", None, True, NOW)
    other_signer = issue(SIGNER_CN, issue("Other Middle", other_root, True, NOW), False, NOW)
    middle_as_signer = issue("x@y@" + UNIONPAY_SIGNER + "@1", None, True, NOW)
    for key, cert in ((other_signer.key, other_signer.cert), (certs.merchant_key, certs.merchant),
                      (middle_as_signer.key, middle_as_signer.cert)):
        assert refusal(_signed_by(certs_dir, key, cert), chain, NOW, mer_id)[0] == "bad_certificate"  # type: ignore[index]
    for text in ("", "-----BEGIN CERTIFICATE-----\n你好\n-----END CERTIFICATE-----", "x" * 100_000):
        assert refusal({**MESSAGE, "signPubKeyCert": text, "signature": "AA=="}, chain, NOW, mer_id)[0] \
            == "bad_certificate"  # type: ignore[index]
    genuine = _signed_by(certs_dir, certs.signer_key, certs.signer)
    assert refusal(genuine, chain, NOW + dt.timedelta(days=4000), mer_id)[0] == "bad_certificate"  # type: ignore[index]
    assert refusal(genuine, chain, NOW, "777290058110049")[0] == "merchant_mismatch"  # type: ignore[index]
    assert refusal({**genuine, "version": "5.0.0"}, chain, NOW, mer_id)[0] == "bad_signature"  # type: ignore[index]


def test_cert_id_is_the_decimal_serial(certs_dir: Path) -> None:
    """certId is the merchant certificate's serial number in decimal."""
    merchant = read_certs(certs_dir).merchant
    assert cert_id(merchant) == str(merchant.serial_number) and cert_id(merchant).isdigit()


def test_a_root_that_did_not_issue_the_middle_is_refused(certs_dir: Path) -> None:
    """A chain configured with the wrong root certificate trusts nothing."""
    certs = read_certs(certs_dir)
    chain = TrustChain(issue("Wrong Root", None, True, NOW).cert, certs.middle, UNIONPAY_SIGNER)
    with pytest.raises(CertificateError, match="middle"):
        chain.check(pem(certs.signer), NOW)
