"""Hostile WeChat Pay notification headers: refused with 401, never 500, logged on one short line."""

from __future__ import annotations

import logging

import pytest

from integrations.topup.sandbox import NotifyPolicy

from .harness import WeChatSite

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("timestamp", ["²", "١٧٠٠٠٠٠٠٠٠", "1" * 5000, "+1700000000", "1e9"])
async def test_hostile_timestamp_is_refused(
    site: WeChatSite, timestamp: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A Wechatpay-Timestamp that is not ASCII digits (superscripts, other scripts, 5000 digits, signs) is
    refused as malformed (401); a long Wechatpay-Serial with a line separator is logged escaped and short."""
    caplog.set_level(logging.DEBUG)
    order = await site.wechat.create_qr_order(site.accounts["A"], 5000)
    trade = site.wechat_sandbox.pay(order.out_trade_no, NotifyPolicy(lose=True))
    headers, body = site.wechat_sandbox.notification(trade)
    status, _ = await site.post_notify({**headers, "Wechatpay-Timestamp": timestamp}, body)
    assert status == 401
    assert (await site.security_kinds())[-1] == "malformed"
    serial = "PUB_KEY_ID_X\u2028WeChat Pay order credited" + "x" * 4000
    status, _ = await site.post_notify({**headers, "Wechatpay-Serial": serial}, body)
    assert status == 401
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("integrations")]
    assert lines and all("\n" not in line and len(line) < 300 for line in lines)
    assert not (await site.wechat.store.get(order.out_trade_no)).credited  # type: ignore[union-attr]
