"""A third payment provider is a folder: it registers with `topup`, the tenant pages offer it, and the generic
order flow creates, credits and refunds its orders, with no change to Alipay, WeChat Pay or the web layer."""
from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from integrations.topup.errors import TopUpError

from scada_core.bootstrap import async_from_config_dir
from scada_core.exceptions import OpenPrepayError
from tests.alipay.harness import tenant_client
from tests.core.test_meter_capability import ACME
from tests.helpers import drop_schema, until, write_config

ADMIN = {"id": "admin1", "role": "admin"}
METER = "acme_meter.plain"
PASSWORD = "acme-pass-1234"

# A provider written by someone else, on nothing but `topup`: its gateway only remembers what its buyers paid.
ACMEPAY = '''"""Acme Pay: a third top-up provider, for the registry test."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import voluptuous as vol
from aiohttp import web

from integrations.topup.config import topup_options
from integrations.topup.const import CHANNEL_QR, CHANNEL_WAP
from integrations.topup.limits import limits_in_order, topup_limits
from integrations.topup.orders import Order, OrderStore
from integrations.topup.payments import TopUpPayments
from integrations.topup.start import async_add_provider
from scada_core.http import View

DOMAIN = "acmepay"
NOTIFY_PATH = "/api/acmepay/notify"
CONFIG_SCHEMA = vol.Schema(
    {DOMAIN: vol.All(vol.Schema(topup_options(0, ".acmepay", "subject", "充值-{account}")), limits_in_order)},
    extra=vol.ALLOW_EXTRA,
)


@dataclass
class AcmeSettings:
    """Where Acme sends notifications and the browser back (filled in once the web server listens)."""

    notify_url: str = ""
    return_url: str | None = None


@dataclass
class AcmeGateway:
    """The orders Acme's buyers have paid."""

    settings: AcmeSettings = field(default_factory=AcmeSettings)
    paid: set[str] = field(default_factory=set)


class AcmePayments(TopUpPayments):
    """Acme Pay on the generic order flow."""

    name = DOMAIN
    label = "Acme Pay"
    labels = {"zh-CN": "极致支付", "en": "Acme Pay"}
    scan_prompts = {"zh-CN": "请用极致扫码支付", "en": "Scan with Acme to pay"}
    refund_reason = "极致退款"
    method = "acmepay"  # its own payment method (a ledger account), registered with billing as it starts
    credited_event = "acmepay_payment_credited"
    source = DOMAIN

    async def create_wap_order(
        self, account_id: int, amount_fen: int, quit_url: str | None = None, payer_ip: str | None = None,
        meter_entity_id: str | None = None,
    ) -> tuple[Order, str]:
        order = await self._new_order(account_id, amount_fen, CHANNEL_WAP, meter_entity_id)
        return order, f"https://pay.acme.example/{order.out_trade_no}"

    async def create_qr_order(
        self, account_id: int, amount_fen: int, meter_entity_id: str | None = None
    ) -> Order:
        order = await self._new_order(account_id, amount_fen, CHANNEL_QR, meter_entity_id)
        await self.store.set_qr_code(order.out_trade_no, f"acme://{order.out_trade_no}")
        return await self.store.get(order.out_trade_no)

    async def _query_one(self, order: Order, now: float) -> None:
        if order.out_trade_no in self.client.paid:
            await self.settle_queried(order, order.amount_fen, f"ACME{order.out_trade_no}", "paid")

    async def close(self, order: Order) -> None:
        await self.store.record_closed(order.out_trade_no)

    async def _refund_at_gateway(self, order: Order) -> dict[str, Any]:
        self.client.paid.discard(order.out_trade_no)
        return {"out_trade_no": order.out_trade_no}


class AcmeNotifyView(View):
    """Acme's word that an order is paid (its gateway is asked: it must know the order as paid)."""

    url = NOTIFY_PATH
    name = "acmepay:notify"
    tag = DOMAIN
    public = True

    def __init__(self, core: Any, payments: AcmePayments) -> None:
        super().__init__(core)
        self.payments = payments

    async def post(self, request: web.Request) -> web.Response:
        out_trade_no = str((await request.post()).get("out_trade_no", ""))
        order = await self.payments.store.get(out_trade_no)
        if order is None or out_trade_no not in self.payments.client.paid:
            return web.Response(text="failure", status=400)
        ok = await self.payments.settle_notified(order, f"ACME{out_trade_no}", request.remote, DOMAIN, None)
        return web.Response(text="success" if ok else "failure", status=200 if ok else 503)


async def async_setup(core: Any, config: dict[str, Any]) -> bool:
    gateway = AcmeGateway()
    store = OrderStore(core.db, core.clock, DOMAIN, "TA")
    payments = AcmePayments(core, store, topup_limits(config, "subject"))
    payments.client = gateway
    core.data[DOMAIN] = payments
    core.http.register_view(AcmeNotifyView(core, payments))
    await async_add_provider(core, payments, gateway.settings, NOTIFY_PATH, config)
    return True
'''


def _integration(folder: Path, domain: str, code: str, dependencies: str) -> None:
    """Write a custom integration: its manifest and its code."""
    folder = folder / "custom_integrations" / domain
    folder.mkdir(parents=True)
    (folder / "manifest.yaml").write_text(
        f"domain: {domain}\nname: {domain}\nversion: '1'\ndependencies: {dependencies}\n", encoding="utf-8"
    )
    (folder / "__init__.py").write_text(code, encoding="utf-8")


async def test_a_third_provider_is_a_folder(tmp_path: Path, db_settings: dict[str, str]) -> None:
    """Acme Pay (a custom integration) is offered on the phone page; a tenant's order goes to its cashier;
    its notification (public beside the staff dashboard's guarded API) credits it once through billing; a
    kiosk QR order paid without a notification is found by its sweep; the flow's refund rules apply to it."""
    _integration(tmp_path, "acme_meter", ACME, "[]")
    _integration(tmp_path, "acmepay", ACMEPAY, "[topup, tenant]")
    write_config(tmp_path, {
        "core": {"time_zone": "Asia/Shanghai"},
        "acme_meter": {},
        "billing": {"buildings": {"b1": {"meters": ["*"], "tariff": {"kind": "flat", "price": "1.00"}}}},
        "acmepay": {"query_interval": 3600},
        "web": {},
    }, recorder={**db_settings, "commit_interval": 0.05})
    core = await async_from_config_dir(tmp_path)
    try:
        assert "acmepay" in core.config.components and "alipay" not in core.config.components
        registry = core.data["topup"]
        assert [p.name for p in registry.list()] == ["acmepay"]
        billing = core.data["billing"]
        account_id = (await billing.open_account("Acme 租户", [METER], ADMIN))["id"]
        await core.services.async_call(
            "acmepay", "set_tenant_login", {"account_id": account_id, "password": PASSWORD}
        )
        assert core.http is not None
        base = f"http://127.0.0.1:{core.http.port}"
        async with tenant_client(base) as client:
            async with client.post(f"{base}/m/login", allow_redirects=False,
                                   data={"account_id": str(account_id), "password": PASSWORD}) as resp:
                assert resp.status == 302
            async with client.get(f"{base}/m/home") as resp:
                home = await resp.text()
            assert 'id="provider-acmepay"' in home and "极致支付" in home
            async with client.post(f"{base}/m/topup", allow_redirects=False,
                                   data={"provider": "acmepay", "amount": "12.34", "meter": METER}) as resp:
                assert resp.status == 302
                location = resp.headers["Location"]
        assert location.startswith("https://pay.acme.example/TA")
        out_trade_no = location.rsplit("/", 1)[1]
        acme = core.data["acmepay"]
        order = await acme.store.get(out_trade_no)
        assert (order.provider, order.amount_fen, order.credited) == ("acmepay", 1234, False)

        credited: list[dict[str, object]] = []
        core.bus.async_listen("acmepay_payment_credited", lambda event: credited.append(event.data))
        acme.client.paid.add(out_trade_no)
        async with aiohttp.ClientSession() as anyone:  # no staff login: the gateway calls it
            for _ in range(2):  # a repeat is answered, and credits nothing
                async with anyone.post(f"{base}/api/acmepay/notify", data={"out_trade_no": out_trade_no}) as resp:
                    assert (resp.status, await resp.text()) == (200, "success")
            async with anyone.get(f"{base}/api/acmepay/orders") as resp:
                assert resp.status == 401  # the rest of /api/ stays guarded
        order = await acme.store.get(out_trade_no)
        assert order.state == "PAID" and order.credited and order.receipt_no
        assert (await billing.account_summary(account_id))["wallet_fen"] == 1234  # server-billed: the wallet

        answer = await core.services.async_call(
            "acmepay", "create_order", {"account_id": account_id, "amount_fen": 500, "channel": "qr"}
        )
        qr_order = answer["order"]["out_trade_no"]
        assert answer["order"]["qr_code"] == f"acme://{qr_order}"  # the kiosk's QR, through the same services
        acme.client.paid.add(qr_order)
        for _ in range(2):
            await core.services.async_call("acmepay", "sweep", {"query_after": 0})
        assert (await acme.store.get(qr_order)).credited
        assert (await billing.account_summary(account_id))["wallet_fen"] == 1234 + 500
        books = await billing.trial_balance()  # its own ledger account, not another method's
        assert books["balanced"] and books["accounts"]["acmepay"] == 1234 + 500 and "card" not in books["accounts"]
        assert [billing.methods.label("acmepay", lang) for lang in ("zh-CN", "en")] == ["极致支付", "Acme Pay"]
        for method in ("acmepay2", "revenue:energy", "CASH", "现金", "x" * 40):  # unknown, or a ledger account
            with pytest.raises(OpenPrepayError, match="payment method"):
                await billing.credit_payment(account_id, 100, method, f"k-{method}", ADMIN)
        await until(lambda: _settled(credited), lambda found: len(found) >= 2)
        assert [c["out_trade_no"] for c in credited] == [out_trade_no, qr_order]
        with pytest.raises(TopUpError, match="wallet"):  # the flow's refund rule holds for every provider
            await core.services.async_call(
                "acmepay", "refund", {"out_trade_no": out_trade_no, "operator": ADMIN, "reason": "test"}
            )
    finally:
        await core.async_stop()
        await drop_schema(tmp_path, db_settings)


async def _settled(credited: list[dict[str, object]]) -> list[dict[str, object]]:
    """Return the credit announcements so far."""
    return credited
