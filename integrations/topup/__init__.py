"""Top-up: the orders every payment provider shares, money and limits, and the registry providers join."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import voluptuous as vol

from .api import VIEWS
from .const import DOMAIN
from .orders import OrderLog
from .registry import TopUpRegistry

if TYPE_CHECKING:
    from scada_core.core import Core

# `topup:` has no options of its own (each provider's section sets its limits): any key is a typo.
CONFIG_SCHEMA = vol.Schema({DOMAIN: vol.Any(None, vol.Schema({}))}, extra=vol.ALLOW_EXTRA)


async def async_setup(core: Core, config: dict[str, Any] | None) -> bool:
    """Offer the providers (alipay, wechatpay, …) a registry to join, and the staff their orders."""
    core.data[DOMAIN] = TopUpRegistry()
    if core.db is not None and core.http is not None:
        log = OrderLog(core.db, core.clock)
        for view_class in VIEWS:
            core.http.register_view(view_class(core, log))
    return True
