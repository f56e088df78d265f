"""What the UnionPay site tests share: the sandbox, the payments object, notifications and a paid order."""
from __future__ import annotations

import html
import re

from integrations.topup.orders import Order
from integrations.unionpay.payments import UnionPayPayments
from integrations.unionpay.sandbox import SandboxTrade, UnionPaySandbox
from tests.alipay.harness import Site
from tests.helpers import until

NOTIFY = "/api/unionpay/notify"
_INPUT = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


def payments(site: Site) -> UnionPayPayments:
    """Return the unionpay integration's service object."""
    return site.core.data["unionpay"]


def sandbox(site: Site) -> UnionPaySandbox:
    """Return the in-process UnionPay sandbox."""
    return payments(site).sandbox


def hidden_fields(page: str) -> dict[str, str]:
    """Return a page's hidden form fields, unescaped, as a browser would post them."""
    return {html.unescape(k): html.unescape(v) for k, v in _INPUT.findall(page)}


async def notify(site: Site, form: dict[str, str]) -> tuple[int, str]:
    """POST a back notification to our endpoint as UnionPay would."""
    return await sandbox(site).post_notify(f"{site.base}{NOTIFY}", form)


async def qr_order(site: Site, amount_fen: int = 5000) -> tuple[Order, SandboxTrade]:
    """Create a kiosk order for tenant A and return it with the sandbox's trade (not paid)."""
    order = await payments(site).create_qr_order(site.accounts["A"], amount_fen)
    return order, sandbox(site).trades[order.out_trade_no]


async def credited(site: Site, out_trade_no: str) -> None:
    """Wait until the order is credited."""
    await until(lambda: payments(site).store.get(out_trade_no), lambda o: o is not None and o.credited)
