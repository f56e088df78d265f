"""Prepaid billing: buildings, default tariffs, credit policy and the reconciler (scada_core.billing).

    billing:
      reconcile_interval: 180      # s between reconciler rounds (pending deliveries, meter sync)
      meter_timeout: 30            # s a sale waits for the meter before it is left pending for the reconciler
      offline_after: 300           # s an opened meter must stay unavailable before it enters an offline alarm
      buildings:
        b1:
          name: 一号楼
          meters: ["acrel_dtsy1352.b1_*"]          # fnmatch patterns; unmatched meters go to the first building
          tariff: {kind: flat, price: "0.80"}      # or kind: tou (prices, periods, seasons) / tiered (bands:
                                                   # server-billed meters only; refused for meter-side ones)
          alarm1_fen: 5000
          alarm2_fen: 1000
          overdraft_fen: 0
          credit_cap_fen: 500000                   # optional
          overload_w: 30000                        # optional

Services: billing.reconcile and those the operations table (scada_core.billing.operations) marks as services
(billing.sell, billing.credit_payment, billing.run_load_plan, billing.end_load_run): their REST route's schema plus a required operator. REST routes under
/api/billing/ (OpenAPI, from the same table) take the operator the web layer authenticated
(request[KEY_OPERATOR]), or, with operator_from_body: true (tests and benchmarks only), the body's "operator".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import voluptuous as vol

from scada_core.billing.api import VIEWS
from scada_core.billing.const import (
    DEFAULT_CONSUMPTION_INTERVAL,
    DEFAULT_METER_TIMEOUT,
    DEFAULT_OFFLINE_AFTER,
    DEFAULT_RECONCILE_INTERVAL,
    DOMAIN,
)
from scada_core.billing.metrics import BillingMetrics
from scada_core.billing.operations import OPERATIONS, Operation
from scada_core.billing.service import BillingService, building_of
from scada_core.billing.tariffs import (
    KIND_TIERED,
    TARIFF_SCHEMA,
    payload_months,
    push_payload,
    spec_path,
    tiered_refusal,
)
from scada_core.core import Core, ServiceCall
from scada_core.validation import ConfigContext

_LOGGER = logging.getLogger(__name__)

FEN = vol.All(int, vol.Range(min=0))
# What push_settings gives a meter-side meter (overload_w when the building sets one).
SETTINGS = ("alarm1_fen", "alarm2_fen", "overdraft_fen", "overload_w")


def _alarms_in_order(building: dict[str, Any]) -> dict[str, Any]:
    """报警2 is the later, lower level: refuse it above 报警1."""
    if building["alarm2_fen"] > building["alarm1_fen"]:
        raise vol.Invalid(
            f"alarm2_fen {building['alarm2_fen']} is above alarm1_fen {building['alarm1_fen']} "
            "(the second alarm comes at the lower balance)",
            path=["alarm2_fen"],
        )
    return building


BUILDING_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Optional("name"): str,
            vol.Optional("meters", default=[]): [str],
            vol.Required("tariff"): TARIFF_SCHEMA,
            vol.Optional("alarm1_fen", default=5000): FEN,
            vol.Optional("alarm2_fen", default=1000): FEN,
            vol.Optional("overdraft_fen", default=0): FEN,
            vol.Optional("credit_cap_fen"): vol.Any(None, FEN),
            vol.Optional("overload_w"): vol.Any(None, vol.All(int, vol.Range(min=1))),
        }
    ),
    _alarms_in_order,
)

CONFIG_SCHEMA = vol.Schema(
    {
        DOMAIN: vol.Schema(
            {
                vol.Optional("buildings", default={}): {vol.Match(r"^[A-Za-z0-9_-]+$"): BUILDING_SCHEMA},
                vol.Optional("reconcile_interval", default=DEFAULT_RECONCILE_INTERVAL): vol.All(
                    vol.Coerce(float), vol.Range(min=1)
                ),
                vol.Optional("consumption_interval", default=DEFAULT_CONSUMPTION_INTERVAL): vol.All(
                    vol.Coerce(float), vol.Range(min=0, max=86400)
                ),
                vol.Optional("meter_timeout", default=DEFAULT_METER_TIMEOUT): vol.All(
                    vol.Coerce(float), vol.Range(min=0.1, max=600)
                ),
                vol.Optional("offline_after", default=DEFAULT_OFFLINE_AFTER): vol.All(
                    vol.Coerce(float), vol.Range(min=0, max=86400)
                ),
                vol.Optional("operator_from_body", default=False): bool,
            }
        )
    },
    extra=vol.ALLOW_EXTRA,
)

def _refusals(schema: vol.Schema | None, data: dict[str, Any]) -> list[vol.Invalid]:
    """Return why a meter's service schema refuses ``data`` (none if it takes it or lacks the service)."""
    try:
        if schema is not None:
            schema(data)
    except vol.MultipleInvalid as err:
        return list(err.errors)
    except vol.Invalid as err:
        return [err]
    return []


def _payloads(building: dict[str, Any]) -> list[tuple[str, int | None, dict[str, Any]]]:
    """Return what billing pushes to a building's meter-side meters: (service, month, data)."""
    tariff = building["tariff"]
    settings = {key: building[key] for key in SETTINGS if building.get(key) is not None}
    return [
        *(("push_tariff", month, push_payload(tariff, month)) for month in payload_months(tariff)),
        ("push_settings", None, settings),
    ]


def validate_config(context: ConfigContext, config: dict[str, Any]) -> None:
    """Refuse a building's tariff or alarm settings that one of its meter-side meters would not accept
    (a tiered tariff included: such a meter cannot switch bands)."""
    buildings = config["buildings"]
    refused: set[tuple[str, str]] = set()  # (building, service): reported once, not once per meter
    for entity in context.entities.values() if buildings else ():
        building_id = building_of(buildings, entity.entity_id)
        building = buildings[building_id]
        tariff = building["tariff"]
        if (building_id, "push_tariff") in refused or "push_tariff" not in entity.services:
            continue
        if tariff["kind"] == KIND_TIERED:
            refused.add((building_id, "push_tariff"))
            _zh, message = tiered_refusal(entity.entity_id)
            context.error([DOMAIN, "buildings", building_id, "tariff", "kind"], message)
            continue
        for service, month, data in _payloads(building):
            schema = entity.services.get(service)
            errors = [] if (building_id, service) in refused else _refusals(schema, data)
            if errors:
                refused.add((building_id, service))
            for error in errors:
                where = error.path
                if service == "push_tariff":
                    where = ["tariff", *spec_path(tariff, error.path, month)]
                context.error(
                    [DOMAIN, "buildings", building_id, *where],
                    f"{error.msg} (meter {entity.entity_id} refuses it)",
                )


def _service_handler(service: BillingService, op: Operation) -> Callable[[ServiceCall], Awaitable[dict[str, Any]]]:
    """Return the billing.<name> service calling the façade with the validated data as keyword arguments."""

    async def handle(call: ServiceCall) -> dict[str, Any]:
        return await getattr(service, op.name)(**call.data)

    return handle


async def async_setup(core: Core, config: dict[str, Any]) -> bool:
    """Create the billing service, its API routes and the billing.* services."""
    service = BillingService(core, config)
    core.data[DOMAIN] = service
    core.metrics.register(BillingMetrics(core.bus, service.db).collect)
    await service.async_start()
    if core.http is not None:
        for view in VIEWS:
            core.http.register_view(view(core, config["operator_from_body"]))

    for op in OPERATIONS:
        if op.service:
            core.services.async_register(DOMAIN, op.name, _service_handler(service, op), op.service_schema, op.summary)

    async def reconcile(call: ServiceCall) -> dict[str, Any]:
        return await service.reconcile_round()

    core.services.async_register(
        DOMAIN,
        "reconcile",
        reconcile,
        vol.Schema({}),
        "run a reconcile round now: pending deliveries, tariffs and settings meters should hold",
    )
    return True
