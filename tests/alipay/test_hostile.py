"""Hostile amounts and hostile text in notifications and the phone top-up: refused with 4xx, never 500;
nothing of an unsigned notification in the log, untrusted values logged on one line and short."""
from __future__ import annotations

import logging

import pytest

from integrations.alipay.signing import canonical_string
from integrations.topup.money import yuan_to_fen
from integrations.topup.signing import sign
from tests.alipay.harness import PASSWORDS, tenant_client

from .harness import Site

pytestmark = pytest.mark.timeout(60)

HOSTILE_AMOUNTS = [
    "1" * 29, "9" * 40, "1e30", "1E2", "5e1", "-50.00", "+50.00", " 50.00", "50.00 ", "50.00\n", "50_00", "5_0.00",
    "５０.００", "٥٠", "50.001", "50.", ".50", "", "NaN", "Infinity", "-0", "0x32", "50,00", "1" * 13,
    "5" * 100_000,
]


@pytest.mark.parametrize("text", ["0.01", "0.1", "50", "50.00", "50.5", "999999999999.99", "007.10"])
def test_plain_decimal_amounts_parse(text: str) -> None:
    """Digits, optionally a point and one or two more: parsed into integer fen."""
    whole, _, cents = text.partition(".")
    assert yuan_to_fen(text) == int(whole) * 100 + int(cents.ljust(2, "0") or 0)


@pytest.mark.parametrize("text", HOSTILE_AMOUNTS, ids=lambda t: repr(t[:16]))
def test_anything_else_is_refused_with_a_short_message(text: str) -> None:
    """Exponents, signs, spaces, underscores, other scripts' digits, 13+ digit values: ValueError (no
    decimal.InvalidOperation), whose message shows the value escaped and short."""
    with pytest.raises(ValueError) as caught:
        yuan_to_fen(text)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200


def _signed(site: Site, form: dict[str, str]) -> dict[str, str]:
    """Sign ``form`` with the sandbox's (Alipay's) key, as a genuine notification is."""
    form = dict(form)
    form["sign"] = sign(canonical_string(form, ("sign", "sign_type")), site.sandbox.alipay_private_key)
    return form


async def test_signed_notify_with_a_hostile_amount_is_refused(site: Site) -> None:
    """A genuinely signed notification whose total_amount is not a plain amount is refused as a mismatch
    (400 `failure`, security event), never 500; the order stays unpaid."""
    order = await site.payments.create_qr_order(site.accounts["A"], 5000)
    trade = site.sandbox.trades[order.out_trade_no]
    trade.status = "TRADE_SUCCESS"
    for text in HOSTILE_AMOUNTS[:-1]:
        assert await site.notify(site.sandbox.notify_form(trade, total_amount=text)) == (400, "failure"), text
        assert (await site.security_kinds())[-1] == "amount_mismatch", text
    stored = await site.payments.store.get(order.out_trade_no)
    assert stored is not None and not stored.credited and stored.state == "PENDING"


def _our_log(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith(("integrations", "web", "scada_core"))]


async def test_forged_notify_writes_no_attacker_text_to_the_log(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """An unsigned notification whose out_trade_no forges a 'credited' line and carries a 5 MB value: refused,
    and the log holds one short line without any of it; a validly signed but unknown order with a newline
    in out_trade_no is logged escaped on one line."""
    caplog.set_level(logging.DEBUG)
    order = await site.payments.create_qr_order(site.accounts["A"], 5000)
    forged_no = f"{order.out_trade_no}\nAlipay order {order.out_trade_no} credited 5000000 fen to account 1"
    form = site.sandbox.notify_form(site.sandbox.trades[order.out_trade_no], out_trade_no=forged_no,
                                    total_amount="50.00", trade_status="TRADE_SUCCESS")
    form["subject"] = "x" * 5_000_000  # changed after signing: the signature no longer verifies
    assert await site.notify(form) == (400, "failure")
    assert (await site.security_kinds())[-1] == "bad_signature"
    lines = _our_log(caplog)
    assert lines and all("\n" not in line and len(line) < 300 for line in lines), [line[:300] for line in lines]
    assert not any("credited" in line or "xxxx" in line for line in lines)
    caplog.clear()
    signed = _signed(site, {**form, "subject": "x" * 5_000_000})
    assert await site.notify(signed) == (400, "failure")
    assert (await site.security_kinds())[-1] == "unknown_order"
    lines = _our_log(caplog)
    assert lines and all("\n" not in line and len(line) < 300 for line in lines)
    assert any(f"{order.out_trade_no}\\nAlipay" in line for line in lines)
    async with site.http.get(f"{site.base}/api/alipay/security_events?limit=1") as resp:
        event = (await resp.json())[0]
    assert "\n" not in event["reference"] and len(event["reference"]) <= 64
    stored = await site.payments.store.get(order.out_trade_no)
    assert stored is not None and not stored.credited


async def test_phone_top_up_refuses_hostile_amounts_with_400(site: Site) -> None:
    """POST /m/topup with a hostile amount answers 400 with the catalogue's message (zh-CN), never 500, and
    creates no order."""
    async with tenant_client(site.base) as client:
        async with client.post(f"{site.base}/m/login", allow_redirects=False, data={
                "account_id": str(site.accounts["A"]), "password": PASSWORDS["A"]}) as resp:
            assert resp.status == 302
        for text in HOSTILE_AMOUNTS:
            async with client.post(f"{site.base}/m/topup", data={"amount": text}, allow_redirects=False) as resp:
                assert resp.status == 400, text[:40]
                assert "金额" in await resp.text(), text[:40]
        async with client.post(f"{site.base}/m/topup", data={"amount": "50.00"}, allow_redirects=False) as resp:
            assert resp.status == 302
    assert len(await site.payments.store.for_account(site.accounts["A"])) == 1
