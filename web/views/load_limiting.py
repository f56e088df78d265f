"""Load limiting (限电): load categories, plans, running one (with a confirmation naming the meters), ending a run,
the report of what each run limited when (and its Excel export), and a meter's category from its page."""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn
from urllib.parse import quote

from aiohttp import web

from scada_core.billing.const import (
    LOAD_ACTION_LIMIT,
    LOAD_ACTIONS,
    LOAD_DURATION_MAX_S,
    LOAD_LIMIT_MAX_W,
    LOAD_METER_LIMITED,
    LOAD_METER_PENDING,
    LOAD_METER_TRIPPED,
    LOAD_RUN_ACTIVE,
    LOAD_RUN_ENDED,
)
from scada_core.exceptions import OpenPrepayError
from scada_core.params import path_id
from scada_core.permissions import PERM_BATCH, PERM_SETTINGS, PERM_VIEW

from ..auth import WebOperator
from ..site import Page
from ..tariff_form import FormError, effective_from_form
from ..xlsx_download import at_hand, send_xlsx
from .grid import known_meter
from .sales import billing_of, error_text

PAGE = "/load_limiting"
KEY_MAX = 64
# The page's forms and what each needs: categories and plans are settings, running one a command to many meters.
ACTIONS = {"category": PERM_SETTINGS, "plan": PERM_SETTINGS, "run": PERM_BATCH, "run_confirm": PERM_BATCH,
           "end": PERM_BATCH}
def whole_from_form(form: Any, name: str, low: int, high: int, message: str) -> int:
    """Return a whole number (ASCII digits) from ``low`` to ``high``, or raise FormError(``message``)."""
    text = str(form.get(name, "")).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12 or not low <= int(text) <= high:
        raise FormError(message)
    return int(text)


def minutes_from_form(form: Any, name: str, required: bool = True) -> int | None:
    """Return a duration given in whole minutes as seconds (at least a minute, at most a week)."""
    if not str(form.get(name, "")).strip() and not required:
        return None
    return whole_from_form(form, name, 1, LOAD_DURATION_MAX_S // 60, "err_load_minutes") * 60


def form_id(form: Any, name: str) -> int:
    """Return a form's database id field, or raise FormError."""
    return whole_from_form(form, name, 1, 2**31 - 1, "err_bad_input")


def plan_from_form(form: Any) -> dict[str, Any]:
    """Return a plan's fields from the form (name, categories ticked, action, its limit, minutes)."""
    action = str(form.get("plan_action", LOAD_ACTION_LIMIT))
    if action not in LOAD_ACTIONS:
        raise FormError("err_bad_input")
    return {
        "name": str(form.get("name", "")).strip(),
        "categories": [str(key) for key in form.getall("categories", [])],
        "action": action,
        "limit_w": whole_from_form(form, "limit_w", 1, LOAD_LIMIT_MAX_W, "err_load_watts")
        if action == LOAD_ACTION_LIMIT else None,
        "duration_s": minutes_from_form(form, "minutes"),
    }


class LoadLimitingView(Page):
    """限电: categories, plans and runs; admins change them, everyone with the view right sees them."""

    url = PAGE
    name = "web:load_limiting"

    async def get(self, request: web.Request) -> web.Response:
        """Show the page."""
        self.site.require(request, PERM_VIEW)
        return await self.page(request)

    async def page(self, request: web.Request, status: int = 200, error: str | None = None,
                   confirm: dict[str, Any] | None = None) -> web.Response:
        """Render it (``confirm``: the run the admin is asked to confirm)."""
        billing = billing_of(self.site, request)
        categories = await billing.load_categories()
        counts: dict[str, int] = {}
        for key in (await billing.meter_categories()).values():
            counts[key] = counts.get(key, 0) + 1
        return self.site.render(
            request, "load_limiting.html", status=status, error=error, confirm=confirm,
            categories=categories, names={c["key"]: c["name"] for c in categories}, counts=counts,
            plans=await billing.load_plans(), runs=await billing.load_runs(),
        )

    async def post(self, request: web.Request) -> web.StreamResponse:
        """action: category, plan (new or ``plan_id``), run (asks to confirm), run_confirm, end."""
        operator, form = await self.site.form(request, PERM_SETTINGS, PERM_BATCH)
        billing = billing_of(self.site, request)
        action = str(form.get("action", ""))
        if action not in ACTIONS:
            raise web.HTTPBadRequest(text=self.site.t(request)["err_bad_input"])
        self.site.require(request, ACTIONS[action])
        target, before, after = "", None, None
        try:
            if action == "category":
                key = str(form.get("key", "")).strip()
                target = key
                before = next((c for c in await billing.load_categories() if c["key"] == key), None)
                after = await billing.save_load_category(
                    key, str(form.get("name", "")).strip(), operator.billing_operator(),
                    protected=form.get("protected") == "on",
                )
            elif action == "plan":
                fields = plan_from_form(form)
                plan_id = form_id(form, "plan_id") if str(form.get("plan_id", "")).strip() else None
                if plan_id is not None:
                    before = await billing.load_plan(plan_id)
                    after = await billing.update_load_plan(plan_id, **fields, operator=operator.billing_operator())
                else:
                    after = await billing.create_load_plan(**fields, operator=operator.billing_operator())
                target = f"plan {after['id']}"
            elif action == "run":
                return await self._confirm(request, operator, billing, form)
            elif action == "run_confirm":
                plan_id = form_id(form, "plan_id")
                target = f"plan {plan_id}"
                run = await billing.run_load_plan(
                    plan_id, operator.billing_operator(), start_ts=start_of(form),
                    duration_s=minutes_from_form(form, "minutes"), idempotency_key=key_of(form),
                )
                after = {k: run[k] for k in ("id", "plan_name", "action", "limit_w", "start_ts", "end_ts", "status")}
                after["repeated"] = bool(run.get("repeated"))
                await self.site.audit.record(request, operator, "load_run", target, after=after)
                raise web.HTTPFound(f"{PAGE}/runs/{run['id']}")
            else:
                run_id = form_id(form, "run_id")
                target = f"run {run_id}"
                before = {k: v for k, v in (await billing.load_run(run_id)).items() if k != "meters"}
                after = {k: v for k, v in (await billing.end_load_run(run_id, operator.billing_operator())).items()
                         if k != "meters"}
                await self.site.audit.record(request, operator, "load_end", target, before=before, after=after)
                raise web.HTTPFound(f"{PAGE}/runs/{run_id}")
        except FormError as err:
            return await self.page(request, status=400, error=self.site.t(request)[err.key])
        except OpenPrepayError as err:
            await self.site.audit.record(request, operator, f"load_{action}", target, after={"error": str(err)},
                                         ok=False)
            return await self.page(request, status=400, error=error_text(err, self.site.language(request)))
        await self.site.audit.record(request, operator, f"load_{action}", target, before=before, after=after)
        raise web.HTTPFound(PAGE)

    async def _confirm(self, request: web.Request, operator: Any, billing: Any, form: Any) -> web.Response:
        """Ask to confirm a run, naming the window and every meter it limits or leaves alone (held)."""
        preview = await billing.load_preview(form_id(form, "plan_id"), operator.billing_operator())
        start = effective_from_form(form, self.core.clock.now())
        duration = minutes_from_form(form, "minutes", required=False) or preview["plan"]["duration_s"]
        return await self.page(request, confirm={
            **preview, "start_ts": start, "end_ts": start + duration, "minutes": duration // 60, "key": uuid.uuid4().hex,
        })


def key_of(form: Any) -> str:
    """Return the confirmation's request key (a double click runs the plan once), or raise FormError."""
    key = str(form.get("key", ""))
    if not 0 < len(key) <= KEY_MAX or not key.isascii() or not key.isalnum():
        raise FormError("err_bad_input")
    return key


def start_of(form: Any) -> float:
    """Return the confirmed run's start (POSIX seconds the confirmation carried), or raise FormError."""
    try:
        return float(str(form.get("start_ts", "")))
    except ValueError:
        raise FormError("err_bad_input") from None


async def _save_category(view: Page, request: web.Request, operator: WebOperator, action: str, target: str,
                         back: str, call: Callable[[], Awaitable[dict[str, Any]]]) -> NoReturn:
    """Run a category change, audit it before/after (or its refusal) and go ``back`` (with the error, if any)."""
    try:
        result = await call()
    except OpenPrepayError as err:
        await view.site.audit.record(request, operator, action, target, ok=False, after={"error": str(err)})
        raise web.HTTPFound(f"{back}?error={quote(error_text(err, view.site.language(request)))}") from None
    await view.site.audit.record(request, operator, action, target,
                                 before={"category": result["previous"]}, after={"category": result["category"]})
    raise web.HTTPFound(back)


class MeterCategoryView(Page):
    """Admin: a meter's load category (用电性质) from its page; audited before/after."""

    url = "/meters/{entity_id}/category"
    name = "web:meter_category"

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Form field ``key`` (empty: none); back to the meter's page, or ``account``'s when the form came from it."""
        operator, form = await self.site.form(request, PERM_SETTINGS)
        billing = billing_of(self.site, request)
        entity_id = known_meter(self, request)
        account = str(form.get("account", ""))
        page = f"/accounts/{int(account)}" if account.isascii() and account.isdigit() and len(account) < 12 \
            else f"/meters/{quote(entity_id)}"
        key = str(form.get("key", "")).strip() or None
        await _save_category(self, request, operator, "meter_category", entity_id, page,
                             lambda: billing.set_meter_category(entity_id, key, operator.billing_operator()))


class AccountCategoryView(Page):
    """Admin: an account's load category, which its meters without their own take; audited before/after."""

    url = r"/accounts/{account_id:\d+}/category"
    name = "web:account_category"

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Form field ``key`` (empty: none); back to the account's page."""
        operator, form = await self.site.form(request, PERM_SETTINGS)
        billing = billing_of(self.site, request)
        account_id = path_id(request, "account_id")
        key = str(form.get("key", "")).strip() or None
        await _save_category(self, request, operator, "account_category", str(account_id), f"/accounts/{account_id}",
                             lambda: billing.set_account_category(account_id, key, operator.billing_operator()))


LOAD_LIMITING_VIEWS = (LoadLimitingView, MeterCategoryView, AccountCategoryView)
