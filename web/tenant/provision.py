"""Tenant logins from the configuration (the demo's tenant): open the account on its meter if needed, set the login."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from scada_core.exceptions import OpenPrepayError

if TYPE_CHECKING:
    from .site import TenantSite

_LOGGER = logging.getLogger(__name__)

PROVISION_OPERATOR = {"id": "tenant-provision", "role": "admin"}
METER_WAIT = 120.0  # seconds to wait for the meter's first answer

async def _account_of_meter(site: TenantSite, entity_id: str) -> int | None:
    status = await site.billing.meter_status(entity_id)
    return status.get("account_id")


async def provision_tenant(site: TenantSite, tenant: dict[str, Any]) -> int | None:
    """Make sure ``tenant``'s meter has an account with this login; return the account id."""
    entity_id = tenant["meter"]
    deadline = asyncio.get_running_loop().time() + METER_WAIT
    while (state := site.core.states.get(entity_id)) is None or state.attributes.get("online") is not True:
        if asyncio.get_running_loop().time() > deadline:
            _LOGGER.error("Tenant %s: meter %s never answered; no login made", tenant["name"], entity_id)
            return None
        await asyncio.sleep(1)
    try:
        account_id = await _account_of_meter(site, entity_id)
        if account_id is None:
            opened = await site.billing.open_account(
                tenant["name"], [entity_id], PROVISION_OPERATOR, phone=tenant.get("phone"),
                idempotency_key=f"tenant-provision:{entity_id}",
            )
            account_id = int(opened["id"])
        if await site.auth.credentials(account_id) is None:
            await site.auth.set_credentials(account_id, tenant["password"], tenant.get("phone"),
                                            tenant["tenant_control"])
    except OpenPrepayError as err:
        _LOGGER.error("Tenant %s on %s not provisioned: %s", tenant["name"], entity_id, err)
        return None
    _LOGGER.info("Tenant login ready: account %s (%s) on /m/login", account_id, tenant["name"])
    return account_id
