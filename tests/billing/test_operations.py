"""The operations table: every operation refuses hostile values with 4xx and a message, the same one by REST,
service and façade; every operation is in the OpenAPI document with its schema's fields."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
import voluptuous as vol

from scada_core.billing.errors import BillingError
from scada_core.billing.operations import OPERATIONS, Operation
from scada_core.billing.service import BillingService
from scada_core.exceptions import ServiceValidationError

CASHIER = {"id": "c1", "role": "cashier"}
M1 = "acrel_dtsy1352.m1"
PATH_VALUES = {"entity_id": M1, "account_id": 1, "transaction_id": 1, "building_id": "b1", "plan_id": 1, "run_id": 1}
HOSTILE = (10**30, -1, True, "１００", "\x00", "电表\x00", [], {"x": 1})
BASE: dict[str, dict[str, Any]] = {
    "open_account": {"name": "A", "meters": [M1]},
    "close_account": {"idempotency_key": "k"},
    "credit_payment": {"amount_fen": 100, "method": "cash", "idempotency_key": "k"},
    "sell": {"meter_entity_id": M1, "amount_fen": 100, "method": "cash", "idempotency_key": "k"},
    "refund": {"meter_entity_id": M1, "amount_fen": 100, "method": "cash", "idempotency_key": "k"},
    "reverse": {"reason": "wrong meter", "idempotency_key": "k"},
    "move_meter": {"account_id": 1},
    "replace_meter": {"new_entity_id": "acrel_dtsy1352.m2", "idempotency_key": "k"},
    "set_meter_credit": {},
    "set_account_credit": {},
    "set_meter_thresholds": {},
    "set_topup_rule": {"rule": "lowest"},
    "resolve_tamper": {},
    "set_tariff": {"scope": "building:b1", "spec": {"kind": "flat", "price": "1"}},
    "set_building_policy": {"alarm1_fen": 5000, "alarm2_fen": 1000, "overdraft_fen": 0},
    "set_meter_category": {"key": "retail"},
    "set_account_category": {"key": "retail"},
    "save_load_category": {"key": "hotel", "name": "酒店"},
    "create_load_plan": {"name": "P", "categories": ["retail"], "limit_w": 2000, "duration_s": 3600},
    "update_load_plan": {"name": "P", "categories": ["retail"], "limit_w": 2000, "duration_s": 3600},
    "run_load_plan": {},
    "end_load_run": {},
}


def _url(op: Operation) -> str:
    return re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: str(PATH_VALUES[m.group(1)]), op.url)


def _names(op: Operation) -> list[str]:
    return [str(key.schema) for key in op.fields]


def _refused(op: Operation, body: dict[str, Any]) -> bool:
    try:
        op.schema(body)
    except vol.Invalid:
        return True
    return False


def _with_defaults(op: Operation, body: dict[str, Any], now: float) -> dict[str, Any]:
    """Return ``body`` with the defaults REST fills in (the schema's, and the clock's for ``now_default``)."""
    defaults = {
        str(key.schema): key.default()
        for key in op.fields
        if isinstance(key, vol.Optional) and key.default is not vol.UNDEFINED
    }
    if op.now_default:
        defaults[op.now_default] = now
    return {**defaults, **body}


def test_every_operation_method_is_validated_by_its_schema() -> None:
    """Each operation's façade method runs behind @validated with that operation's schema."""
    for op in OPERATIONS:
        method = getattr(BillingService, op.name)
        assert getattr(method, "operation", None) is op, f"{op.name} is not validated"


async def test_facade_refuses_a_missing_required_field_of_every_operation(start_site) -> None:
    """Called from Python with its required fields missing, every operation refuses by its schema."""
    site = await start_site(units=1, with_sim=False)
    for op in OPERATIONS:
        params = [p for p in inspect.signature(getattr(BillingService, op.name)).parameters if p != "self"]
        with pytest.raises(BillingError) as err:
            await getattr(site.billing, op.name)(**{**dict.fromkeys(params), "operator": CASHIER})
        assert err.value.en.startswith("invalid request:"), (op.name, err.value.en)


def test_every_operation_has_a_base_body() -> None:
    assert set(BASE) == {op.name for op in OPERATIONS}
    for op in OPERATIONS:
        assert not _refused(op, BASE[op.name]), op.name


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
async def test_hostile_values_refused_alike_by_rest_service_and_facade(start_site, op: Operation) -> None:
    site = await start_site(units=1)
    path = {kwarg: PATH_VALUES[param] for param, kwarg in op.path.items()}
    checked = 0
    for field in _names(op):
        for value in HOSTILE:
            body = {**BASE[op.name], field: value}
            if not _refused(op, body):
                continue
            checked += 1
            request = site.http.request(op.http.upper(), site.base + _url(op), json={**body, "operator": CASHIER})
            async with request as resp:
                answer = await resp.json()
                assert 400 <= resp.status < 500 and answer["error"], (op.name, field, value, resp.status, answer)
            in_json = "\x00" not in str(value)  # JSON text with NUL is refused before any schema
            # validated by the façade itself (whoever calls it): the same message
            with pytest.raises(BillingError) as err:
                await getattr(site.billing, op.name)(**_with_defaults(op, body, site.billing.now()), **path,
                                                     operator=CASHIER)
            assert not in_json or str(err.value) == answer["error"], (op.name, field, value)
            if op.service:  # the service's own refusal shape, the same reason
                with pytest.raises(ServiceValidationError) as refused:
                    await site.core.services.async_call("billing", op.name, {**body, **path, "operator": CASHIER})
                reason = str(refused.value).split(": ", 1)[1]
                assert not in_json or answer["error"].endswith(f"invalid request: {reason}"), (op.name, field, value)
    assert checked or not op.fields, f"{op.name}: no hostile value refused"  # a body-less one has none to refuse


async def test_every_operation_is_in_the_openapi_document_with_its_fields(start_site) -> None:
    site = await start_site(units=1, with_sim=False)
    paths = (await site.api("GET", "/api/openapi.json"))["paths"]
    for op in OPERATIONS:
        template = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", op.url)
        entry = paths[template][op.http]
        assert entry["summary"] == op.summary
        schema = entry["requestBody"]["content"]["application/json"]["schema"]
        assert set(_names(op)) <= set(schema["properties"]), op.name
        required = [str(key.schema) for key in op.fields if isinstance(key, vol.Required)]
        assert set(required) == set(schema.get("required", [])), op.name
    amount = paths["/api/billing/sales"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    fen = amount["properties"]["amount_fen"]
    assert fen["type"] == "integer" and fen["minimum"] == 1
    assert "wallet" in amount["properties"]["method"]["enum"]
    site.core.data["billing"].methods.register("acmepay", {"zh-CN": "极致支付", "en": "Acme Pay"})  # a provider starts
    paths = (await site.api("GET", "/api/openapi.json"))["paths"]
    sale = paths["/api/billing/sales"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"cash", "wallet", "acmepay"} <= set(sale["properties"]["method"]["enum"])
