"""Payment methods: the counter's, plus each provider's, named so they can never be another ledger account."""
from __future__ import annotations

import pytest

from scada_core.billing.errors import BillingError
from scada_core.billing.methods import PaymentMethods


def test_a_provider_adds_its_method_and_names_it_per_language() -> None:
    methods = PaymentMethods()
    methods.register("unionpay", {"zh-CN": "银联", "en": "UnionPay"})
    methods.check("unionpay")
    assert (methods.label("unionpay"), methods.label("unionpay", "en")) == ("银联", "UnionPay")
    assert list(methods)[:5] == ["cash", "alipay", "wechat", "card", "bank"]  # the counter's first, in order


def test_a_counter_method_keeps_its_names_when_a_provider_registers_it() -> None:
    methods = PaymentMethods()
    methods.register("alipay", {"zh-CN": "别名", "en": "alias"})
    assert (methods.label("alipay"), methods.label("alipay", "en")) == ("支付宝", "Alipay")


@pytest.mark.parametrize("name", ["revenue:energy", "tenant:1", "meter:x", "Cash", "银联", "", "a", "x" * 33, "wallet"])
def test_a_name_that_could_be_another_ledger_account_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a usable name"):
        PaymentMethods().register(name, {"zh-CN": "x", "en": "x"})


def test_an_unknown_method_is_refused_in_both_languages() -> None:
    with pytest.raises(BillingError) as refused:
        PaymentMethods().check("acmepay")
    assert (refused.value.zh, refused.value.en) == ("未知的付款方式：acmepay", "unknown payment method: acmepay")
    assert PaymentMethods().label("acmepay") == "acmepay"  # an old transaction's method still shows
