"""Keeping an operator to their buildings: which building a meter, an account or a transaction is in, and the
refusal when it is not one of theirs (the same on every page and API route)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from scada_core.exceptions import Forbidden, OpenPrepayError
from scada_core.http import KEY_SCOPE
from scada_core.meters import is_meter
from scada_core.params import parse_id
from scada_core.permissions import OUT_OF_SCOPE, Scope

if TYPE_CHECKING:
    from .auth import WebOperator
    from .site import WebSite


PAGE_METER_FIELDS = ("meter", "new")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class OutOfScope(Forbidden):
    """A meter, account or transaction outside the operator's buildings."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}: {OUT_OF_SCOPE}")


def require_meters(scope: Scope | None, entity_ids: Iterable[str]) -> None:
    """Refuse (OutOfScope) the first meter outside ``scope`` (None: an operator kept to no building)."""
    if scope is None:
        return
    for entity_id in entity_ids:
        if not scope.entity_ok(entity_id):
            raise OutOfScope(entity_id)


def meter_building(site: WebSite, entity_id: str) -> str | None:
    """Return the building of a meter (None for an entity that is no meter)."""
    if site.billing is None or not is_meter(site.core.states.get(entity_id)):
        return None
    return str(site.billing.building_of(entity_id))


def scope_of(site: WebSite, operator: WebOperator | None) -> Scope | None:
    """Return the buildings ``operator`` is kept to (None: every building)."""
    if operator is None or operator.buildings is None:
        return None
    return Scope(operator.buildings, lambda entity_id: meter_building(site, entity_id))


def request_scope(request: web.Request) -> Scope | None:
    """Return the scope the middleware set on ``request`` (None: every building)."""
    return request.get(KEY_SCOPE)


async def named_building(site: WebSite, **named: Any) -> str | None:
    """Return the one building of the account or transaction named (None for an unknown one)."""
    try:
        buildings = await site.billing.buildings_named(**named)
    except OpenPrepayError:
        return None
    return next(iter(buildings)) if len(buildings) == 1 else None


async def check_targets(site: WebSite, scope: Scope, entity_ids: list[str], account_ids: list[int],
                        transaction_id: int | None = None, building: str | None = None) -> None:
    """Refuse (OutOfScope) a meter, account, transaction or building outside ``scope`` (an unknown account or
    transaction passes: the route answers that it does not exist)."""
    if building is not None and not scope.building_ok(building):
        raise OutOfScope(building)
    require_meters(scope, entity_ids)
    named = [{"account_id": account_id} for account_id in account_ids]
    if transaction_id is not None:
        named.append({"transaction_id": transaction_id})
    for one in named:
        if (found := await named_building(site, **one)) is not None and not scope.building_ok(found):
            raise OutOfScope(str(next(iter(one.values()))))


def path_targets(request: web.Request) -> tuple[list[str], list[int], int | None, str | None]:
    """Return the meter, account, transaction and building a route's path names."""
    match = request.match_info
    return ([match["entity_id"]] if "entity_id" in match else [],
            [account_id] if (account_id := parse_id(match.get("account_id", ""))) is not None else [],
            parse_id(match.get("transaction_id", "")), match.get("building_id"))


async def page_targets(request: web.Request) -> tuple[list[str], list[int], int | None, str | None]:
    """Return what a page request names: its path's targets, and the meters its query or form names (the counter's
    ``meter``, a replacement's ``new`` meter, a batch's comma-separated ``entity_ids``)."""
    entity_ids, account_ids, transaction_id, building = path_targets(request)
    named = [request.query.get(field, "") for field in PAGE_METER_FIELDS]
    if request.method == "POST" and request.content_type in FORM_TYPES:
        form = await request.post()  # aiohttp keeps it for the handler
        named += [str(form.get(field, "")) for field in PAGE_METER_FIELDS]
        named += str(form.get("entity_ids", "")).split(",")
    entity_ids += [name.strip() for name in named if "." in name]  # entity ids; a room or a name is looked up later
    return entity_ids, account_ids, transaction_id, building


def visible_buildings(site: WebSite, request: web.Request | None = None) -> dict[str, Any]:
    """Return billing's buildings (id: its configuration) in configuration order: with ``request``, those its
    operator may see only (none without billing)."""
    buildings = site.billing.buildings if site.billing is not None else {}
    scope = request_scope(request) if request is not None else None
    return {key: value for key, value in buildings.items() if scope is None or scope.building_ok(key)}


def scoped_meters(request: web.Request, rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Return the rows whose meter (``row[key]``) is in the request's buildings (all rows when not kept to any;
    a gateway, in no building, only then)."""
    scope = request_scope(request)
    return rows if scope is None else [row for row in rows if scope.entity_ok(str(row[key]))]
