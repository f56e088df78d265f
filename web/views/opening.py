"""Opening an account (开户): meters named as people name them, and a choice for money found on a meter."""
from __future__ import annotations

from aiohttp import web

from scada_core.billing.const import LEFTOVER_CHOICES, LEFTOVER_KEEP, MODE_METER
from scada_core.exceptions import OpenPrepayError
from scada_core.params import form_id
from scada_core.permissions import PERM_ACCOUNT

from ..const import MAX_OPENING_METERS
from ..scoping import request_scope, require_meters
from ..site import Page
from .sales import billing_of, error_text

STEP_CHECK = "check"  # the first post: show money found on the meters and ask what to do with it


class AccountOpenView(Page):
    """Open an account (开户)."""

    url = "/accounts/open"
    name = "web:account_open"

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Check (ask about money found on the meters) or open, then show the account."""
        operator, form = await self.site.form(request, PERM_ACCOUNT)
        billing = billing_of(self.site, request)
        t = self.site.t(request)
        names = [m.strip() for m in str(form.get("meters", "")).replace("，", ",").split(",") if m.strip()]
        fields = {k: str(form.get(k, "")).strip() for k in ("name", "phone", "key")}
        if not names or len(names) > MAX_OPENING_METERS:
            return await self._form_again(request, fields, ",".join(names), t["err_meters_count"])
        meters = [self.site.directory.resolve(name) for name in names]
        if unknown := [name for name, meter in zip(names, meters) if meter is None]:
            error = t["err_meters_unknown"].format(names="、".join(unknown))
            return await self._form_again(request, fields, ",".join(names), error)
        entity_ids = [m for m in meters if m is not None]
        require_meters(request_scope(request), entity_ids)
        leftover = str(form.get("leftover", LEFTOVER_KEEP))
        if form.get("step") == STEP_CHECK and (found := self._found(entity_ids)):
            return self.site.render(request, "account_open.html", fields=fields, meters=entity_ids, found=found,
                                    total_fen=sum(found.values()), choices=LEFTOVER_CHOICES, error=None)
        try:
            result = await billing.open_account(
                fields["name"], entity_ids, operator.billing_operator(), phone=fields["phone"] or None,
                idempotency_key=fields["key"] or None, leftover=leftover,
                leftover_account_id=form_id(form, "leftover_account"))
        except OpenPrepayError as err:
            await self.site.audit.record(request, operator, "account_open", ",".join(entity_ids), ok=False,
                                         after={"error": str(err)})
            return await self._form_again(request, fields, ",".join(names), error_text(err, self.site.language(request)))
        await self.site.audit.record(request, operator, "account_open", f"account {result['id']}", after={
            **result, "leftover": [{k: r[k] for k in ("meter_entity_id", "choice", "amount_fen")} for r in result["leftover"]]})
        self.site.grid.invalidate()
        raise web.HTTPFound(f"/accounts/{result['id']}")

    def _found(self, entity_ids: list[str]) -> dict[str, int]:
        """Return the money each meter-side meter last showed, where there is some (what opening will find)."""
        billing = self.site.billing
        found = {}
        for entity_id in entity_ids:
            state = self.core.states.get(entity_id)
            remaining = state.attributes.get("remaining_fen") if state is not None else None
            if billing.mode_of(entity_id) == MODE_METER and isinstance(remaining, int) and remaining > 0:
                found[entity_id] = remaining
        return found

    async def _form_again(self, request: web.Request, fields: dict[str, str], meters: str, error: str) -> web.Response:
        """Show the accounts page with the opening form as it was sent and why it was refused (400)."""
        return self.site.render(request, "accounts.html", status=400, accounts=await self.site.billing.accounts(),
                                q="", key=fields["key"], meter=meters, error=error, fields=fields)


OPENING_VIEWS = (AccountOpenView,)
