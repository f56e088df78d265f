"""The `unionpay:` section is checked at load time: a missing or mangled merchant setting names its key."""
from __future__ import annotations

import pytest
import voluptuous as vol

from integrations.unionpay import CONFIG_SCHEMA

MERCHANT = {"mer_id": "898310173990680", "sign_key": "-----BEGIN PRIVATE KEY-----…", "sign_cert_file": "sign.pem",
            "root_cert_file": "root.cer", "middle_cert_file": "middle.cer"}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"mer_id": None}, "mer_id is required"),
        ({"mer_id": "12345"}, "merId has 15 characters"),
        ({"mer_id": "商户号商户号商户号商户号商户号"}, "merId has 15 characters"),
        ({"sign_key": None}, "sign_key"),
        ({"root_cert_file": None}, "root_cert_file is required"),
        ({"middle_cert_file": None}, "middle_cert_file is required"),
        ({"min_amount": "-1"}, "min_amount|amount"),
        ({"max_amount": "0.50", "min_amount": "1.00"}, "above max_amount"),
        ({"unknown_key": 1}, "extra keys"),
    ],
)
def test_config_mistakes_are_named(change: dict[str, object], problem: str) -> None:
    """Each mistake is refused with the key it is about."""
    conf = {k: v for k, v in {**MERCHANT, **change}.items() if v is not None}
    with pytest.raises(vol.Invalid, match=problem):
        CONFIG_SCHEMA({"unionpay": conf})


def test_sandbox_needs_no_merchant_and_listens_on_9011() -> None:
    """`sandbox: true` alone is a whole section, on port 9011 with its keys in .unionpay_sandbox."""
    section = CONFIG_SCHEMA({"unionpay": {"sandbox": True}})["unionpay"]
    assert section["sandbox"]["port"] == 9011 and section["sandbox"]["keys_dir"] == ".unionpay_sandbox"
    assert section["signer_name"] == "中国银联股份有限公司"
    assert CONFIG_SCHEMA({"unionpay": MERCHANT})["unionpay"]["sandbox"] is None
