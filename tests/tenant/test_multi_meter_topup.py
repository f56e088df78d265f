"""Top-ups of an account with two meter-side meters (issue 12, item 4): the tenant's choice of meter rides the order
through the payment round trip, else the account's rule (the meter with the least money, or shares) decides; the
money reaches the simulator's meters exactly once, however often the gateway notifies."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from integrations.topup.errors import TopUpError
from integrations.topup.sandbox import NotifyPolicy
from scada_core.billing.errors import BillingError
from scada_core.billing.ledger import Operator
from tests.alipay.harness import ADMIN, Site, kiosk_check_in, running_site, tenant_client
from tests.helpers import wait_for
from tests.wechatpay.conftest import wechat_keys_dir  # noqa: F401 - the WeChat Pay sandbox's keys
from tests.wechatpay.harness import WeChatSite, wechat_section
from web.directory import MeterDirectory

pytestmark = pytest.mark.timeout(90)

M3, M4 = "acrel_dtsy1352.m3", "acrel_dtsy1352.m4"
PASSWORD_C = "pass-C-9012"


@pytest.fixture
async def multi(  # type: ignore[no-untyped-def]
    tmp_path: Path, keys_dir: Path, wechat_keys_dir: Path, db_settings: dict[str, str]
) -> AsyncIterator[tuple[WeChatSite, int]]:
    """Yield the Alipay + WeChat Pay site with a third account C holding two meter-side meters, m3 and m4."""
    meters = {"acrel_dtsy1352": [{"bus": "gw1", "meters": [{"name": f"m{u}", "address": u} for u in (1, 2, 3, 4)]}]}
    async with running_site(
        tmp_path, keys_dir, db_settings, {**wechat_section(wechat_keys_dir), **meters}, units=(1, 2, 3, 4)
    ) as site:
        opened = await site.billing.open_account("商铺C", [M3, M4], ADMIN, building="b1")
        account_c = int(opened["id"])
        await site.core.data["tenant"].auth.set_credentials(account_c, password=PASSWORD_C, phone=None)
        yield WeChatSite(site), account_c


async def _login_c(site: Site, client: aiohttp.ClientSession, account_c: int) -> str:
    async with client.post(f"{site.base}/m/login", data={"account_id": str(account_c), "password": PASSWORD_C}) as resp:
        assert resp.status == 200
        return await resp.text()


def _held(site: Site) -> dict[int, tuple[int, int]]:
    """Return (remaining fen, purchase count) of each simulated meter: what the meters themselves hold."""
    return {unit: (m.remaining_fen, m.purchase_count) for unit, m in site.sim.meters.items()}


async def _phone_top_up(site: Site, account_c: int, amount: str, meter: str | None) -> str:
    """Log in as C, post the phone top-up form (Alipay) and return the order's out_trade_no."""
    async with tenant_client(site.base) as client:
        home = await _login_c(site, client, account_c)
        assert 'name="meter"' in home and M4 in home  # the two-meter account is offered the choice
        form = {"amount": amount, "provider": "alipay", **({"meter": meter} if meter else {})}
        async with client.post(f"{site.base}/m/topup", data=form, allow_redirects=False) as resp:
            cashier = resp.headers["Location"]
            assert resp.status == 302 and cashier.startswith(site.sandbox.base_url)
        async with client.get(cashier) as resp:  # the phone's browser opens Alipay's cashier
            assert resp.status == 200
    order = (await site.payments.store.for_account(account_c, limit=1))[0]
    assert order.meter_entity_id == meter
    return order.out_trade_no


async def _credited(site: Site, out_trade_no: str) -> dict[str, Any]:
    """Wait until the notify has credited the order; return its ledger transaction with the deliveries."""
    for _ in range(750):
        order = await site.payments.store.get(out_trade_no)
        if order is not None and order.credited and order.transaction_id is not None:
            return await site.billing.transaction(order.transaction_id)
        await asyncio.sleep(0.02)
    raise AssertionError(f"order {out_trade_no} not credited")


async def test_phone_top_up_goes_to_the_chosen_meter_once(multi: tuple[WeChatSite, int]) -> None:
    """C chooses m4 on the phone and pays 50.00 by Alipay; three copies of the notify and a replayed one
    later put 50.00 on m4 once (one purchase), nothing on m3 and nothing in the wallet."""
    site, account_c = multi
    before = _held(site.site)
    out_trade_no = await _phone_top_up(site.site, account_c, "50.00", M4)
    trade = site.sandbox.pay(out_trade_no, NotifyPolicy(repeat=3))
    credit = await _credited(site.site, out_trade_no)
    await wait_for(lambda: site.sim.meters[4].remaining_fen == before[4][0] + 5000, what="m4 +50.00")
    status, _ = await site.notify(site.sandbox.notify_form(trade))  # replayed later
    assert status == 200
    await site.billing.reconcile()
    assert _held(site.site)[4] == (before[4][0] + 5000, before[4][1] + 1)
    assert _held(site.site)[3] == before[3]
    assert credit["transaction"]["meter_entity_id"] == M4 and credit["transaction"]["kind"] == "sale"
    assert [d["status"] for d in credit["deliveries"]] == ["delivered"]
    history = await site.billing.account_history(account_c)
    assert [t["reference"] for t in history].count(out_trade_no) == 1
    assert (await site.billing.account_summary(account_c))["wallet_fen"] == 0
    assert (await site.billing.trial_balance())["balanced"]


async def test_without_a_choice_the_meter_with_least_money_gets_it(multi: tuple[WeChatSite, int]) -> None:
    """m3 holds 20.00 and m4 nothing: a top-up without a choice lands on m4, not in the wallet."""
    site, account_c = multi
    await site.billing.sell(M3, 2000, "cash", "c-m3", ADMIN)
    before = _held(site.site)
    assert before[3][0] == 2000 and before[4][0] == 0
    out_trade_no = await _phone_top_up(site.site, account_c, "30.00", None)
    site.sandbox.pay(out_trade_no)
    credit = await _credited(site.site, out_trade_no)
    assert credit["transaction"]["meter_entity_id"] == M4
    assert _held(site.site)[4] == (3000, before[4][1] + 1) and _held(site.site)[3] == before[3]
    assert (await site.billing.account_summary(account_c))["wallet_fen"] == 0


async def test_shares_split_to_the_fen_as_one_request(multi: tuple[WeChatSite, int]) -> None:
    """Shares m3 60 % / m4 40 %: 100.01 pays m3 60.01 (60.006 rounded down, plus the fen left over, which goes to
    the largest share) and m4 40.00, in one transaction under the order's key; repeated notifies change
    nothing."""
    site, account_c = multi
    with pytest.raises(BillingError):
        await site.billing.set_topup_rule(account_c, "shares", {M3: 60, M4: 30}, ADMIN)  # not 100 %
    with pytest.raises(BillingError):
        await site.billing.set_topup_rule(account_c, "shares", {M3: 60, "acrel_dtsy1352.m1": 40}, ADMIN)
    await site.billing.set_topup_rule(account_c, "shares", {M3: 60, M4: 40}, ADMIN)
    before = _held(site.site)
    out_trade_no = await _phone_top_up(site.site, account_c, "100.01", None)
    trade = site.sandbox.pay(out_trade_no, NotifyPolicy(repeat=2))
    credit = await _credited(site.site, out_trade_no)
    for _ in range(2):
        status, _ = await site.notify(site.sandbox.notify_form(trade))
        assert status == 200
    await site.billing.reconcile()
    assert _held(site.site)[3] == (before[3][0] + 6001, before[3][1] + 1)
    assert _held(site.site)[4] == (before[4][0] + 4000, before[4][1] + 1)
    assert credit["transaction"]["amount_fen"] == 10001 and credit["transaction"]["receipt_no"]
    assert sorted((d["meter_entity_id"], d["amount_fen"]) for d in credit["deliveries"]) == [(M3, 6001), (M4, 4000)]
    with pytest.raises(TopUpError, match="split over several meters"):  # refunded at the counter, meter by meter
        await site.payments.refund(out_trade_no, ADMIN, "")
    with pytest.raises(BillingError, match="meter by meter"):
        await site.billing.reverse(credit["transaction"]["id"], "typo", "rev-split", ADMIN)
    history = await site.billing.account_history(account_c)
    assert [t["reference"] for t in history].count(out_trade_no) == 1
    assert (await site.billing.trial_balance())["balanced"]


async def test_kiosk_top_up_with_a_choice_by_wechat_pay(multi: tuple[WeChatSite, int]) -> None:
    """At the kiosk C picks m3 and pays 100.00 by WeChat Pay's QR: m3 gets it, m4 does not."""
    site, account_c = multi
    before = _held(site.site)
    async with tenant_client(site.base) as client:
        await kiosk_check_in(client, site.base, account_c, PASSWORD_C)
        async with client.get(f"{site.base}/kiosk/account", params={"meter": M3}) as resp:
            page = await resp.text()
        assert 'id="meters"' in page and f'name="meter" value="{M3}"' in page
        async with client.post(
            f"{site.base}/kiosk/topup", data={"amount_fen": "10000", "provider": "wechatpay", "meter": M3}
        ) as resp:
            assert resp.url.path.startswith("/kiosk/pay/TW")
        out_trade_no = resp.url.path.rsplit("/", 1)[1]
    assert (await site.wechat.store.get(out_trade_no)).meter_entity_id == M3  # type: ignore[union-attr]
    site.wechat_sandbox.pay(out_trade_no, NotifyPolicy(repeat=2))
    await site.credited(out_trade_no)
    await site.billing.reconcile()
    assert _held(site.site)[3] == (before[3][0] + 10000, before[3][1] + 1)
    assert _held(site.site)[4] == before[4]


async def test_a_tenant_cannot_choose_another_accounts_meter(multi: tuple[WeChatSite, int]) -> None:
    """Hostile meter ids (A's meter, an unknown one, a path) are refused on the phone and at the kiosk, make no
    order and are logged; billing refuses such a payment too."""
    site, account_c = multi
    hostile = ("acrel_dtsy1352.m1", "acrel_dtsy1352.nope", "../m1", M3 + "\x00")
    async with tenant_client(site.base) as client:
        await _login_c(site.site, client, account_c)
        for meter in hostile:
            async with client.post(f"{site.base}/m/topup", allow_redirects=False,
                                   data={"amount": "50.00", "provider": "alipay", "meter": meter}) as resp:
                assert resp.status in (400, 403), (meter, resp.status)
    async with tenant_client(site.base) as client:
        await kiosk_check_in(client, site.base, account_c, PASSWORD_C)
        async with client.post(f"{site.base}/kiosk/topup", allow_redirects=False,
                               data={"amount_fen": "5000", "provider": "wechatpay", "meter": hostile[0]}) as resp:
            assert resp.status == 403
        async with client.get(f"{site.base}/kiosk/account", params={"meter": hostile[0]}) as resp:
            assert resp.status == 403
    assert await site.payments.store.for_account(account_c) == []
    assert "foreign_access" in await site.security_kinds()
    with pytest.raises(BillingError):
        await site.billing.credit_payment(account_c, 100, "alipay", "hostile-1", {"id": "alipay", "role": "system"},
                                          meter_entity_id="acrel_dtsy1352.m1")
    assert site.sim.meters[1].remaining_fen == 0


async def test_purchase_history_shows_a_transfer_from_the_wallet(multi: tuple[WeChatSite, int]) -> None:
    """Wallet money from before moved to m3 shows in the tenant's purchase history as a transfer from the wallet
    to that meter, without a receipt (it was paid, and has its receipt, when it came in)."""
    site, account_c = multi
    await site.billing.sales.wallet_movement(account_c, "sale", 2000, "alipay", "old-1",
                                             Operator("alipay", "system"), "", "TU-old")
    moved = await site.billing.sell(M3, 500, "wallet", "move-1", ADMIN)
    assert moved["transaction"]["kind"] == "transfer" and site.sim.meters[3].remaining_fen == 500
    back = await site.billing.refund(M3, 200, "wallet", "move-2", ADMIN)  # and some back to the wallet
    assert back["transaction"]["kind"] == "transfer" and site.sim.meters[3].remaining_fen == 300
    async with tenant_client(site.base) as client:
        home = await _login_c(site.site, client, account_c)
    back_row, moved_row = [line for line in home.split("<li>") if "转移" in line]  # newest first
    directory = MeterDirectory(site.site.core)
    await directory.async_load()
    named = directory.display_name(M3)  # the meter as the tenant knows it, not its entity id
    assert f"账户余额 → {named}" in moved_row and "5.00" in moved_row and "/m/receipts/" not in moved_row
    assert f"{named} → 账户余额" in back_row and "2.00" in back_row and "/m/receipts/" not in back_row
    assert M3 not in moved_row + back_row


async def test_a_paid_choice_whose_meter_left_the_account_goes_by_the_rule(multi: tuple[WeChatSite, int]) -> None:
    """C chooses m4 and pays; before the notify arrives m4 moves to another account. The money was received:
    it is credited once by C's rule (m3, C's only meter now), never to the other account's m4, never left stuck."""
    site, account_c = multi
    out_trade_no = await _phone_top_up(site.site, account_c, "20.00", M4)
    other = (await site.billing.meter_status("acrel_dtsy1352.m2"))["account_id"]
    await site.billing.move_meter(M4, other, ADMIN)
    before = _held(site.site)
    site.sandbox.pay(out_trade_no, NotifyPolicy(repeat=2))
    credit = await _credited(site.site, out_trade_no)
    assert credit["transaction"]["meter_entity_id"] == M3 and credit["transaction"]["account_id"] == account_c
    assert _held(site.site)[3] == (before[3][0] + 2000, before[3][1] + 1)
    assert _held(site.site)[4] == before[4]
    with pytest.raises(BillingError, match="not a meter of account"):  # a caller naming a foreign meter is refused
        await site.billing.credit_payment(account_c, 100, "cash", "c-foreign", ADMIN, meter_entity_id=M4)
