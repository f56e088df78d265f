"""The counter's account search: a tenant found by name, phone, account number, room or meter name."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from scada_core.billing.const import MODE_METER
from scada_core.http import scoped_rows

if TYPE_CHECKING:
    from aiohttp import web

    from .site import WebSite

MAX_QUERY: Final = 64  # longer text names nobody: an empty result, not a slow scan
MAX_RESULTS: Final = 20


async def find_meters(site: WebSite, request: web.Request, query: str) -> list[dict[str, Any]]:
    """Return the open accounts' meters the query names (one row per meter: who, where, money on it), of the
    buildings the request's operator is kept to."""
    wanted = query.strip().casefold()
    if not wanted or len(wanted) > MAX_QUERY or site.billing is None:
        return []
    found = []
    for account in scoped_rows(request, await site.billing.accounts("open"), lambda account: account["building"]):
        owner = {account["name"], account.get("phone") or "", str(account["id"])}
        for meter in account["meters"]:
            entity_id = meter["entity_id"]
            place = site.directory.classify(entity_id)
            names = {*owner, site.directory.display_name(entity_id), place["room"], entity_id}
            if not any(wanted in name.casefold() for name in names if name):
                continue
            state = site.core.states.get(entity_id)
            on_meter = state.attributes.get("remaining_fen") if state is not None else None
            found.append({"account_id": account["id"], "name": account["name"], "phone": account.get("phone"),
                          "entity_id": entity_id, "meter_name": site.directory.display_name(entity_id),
                          "money_fen": on_meter if meter["mode"] == MODE_METER else account["wallet_fen"]})
            if len(found) == MAX_RESULTS:
                return found
    return found
