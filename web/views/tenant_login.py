"""Staff give a shop its phone login from the account page: phone, password (typed or generated), the first code."""
from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from scada_core.exceptions import OpenPrepayError
from scada_core.params import path_id
from scada_core.permissions import PERM_ACCOUNT

from ..auth import AuthError
from ..passwords import generated_password
from .sales import AccountView, billing_of, error_text


class AccountTenantLoginView(AccountView):
    """Set or reset a shop's login for the tenant pages (/m/login and the kiosk), audited."""

    url = r"/accounts/{account_id:\d+}/tenant_login"
    name = "web:account_tenant_login"

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Apply what the form fills in (an empty field keeps what is there); a generated password is shown once,
        on the page this answers with, and never stored or logged in the clear."""
        operator, form = await self.site.form(request, PERM_ACCOUNT)
        t = self.site.t(request)
        account_id = path_id(request, "account_id")
        back = f"/accounts/{account_id}"
        logins = self.site.tenant_logins()
        try:
            account = await billing_of(self.site, request).account(account_id)
        except OpenPrepayError:
            raise web.HTTPNotFound(text=f"account {account_id}") from None
        if logins is None:
            raise web.HTTPFound(f"{back}?error={quote(t['tenant_pages_off'])}")
        if account["status"] != "open":
            raise web.HTTPFound(f"{back}?error={quote(t['tenant_login_closed'])}")
        phone = str(form.get("phone", "")).strip()
        password = str(form.get("password", ""))
        generate = form.get("generate") == "1"
        problem = (  # the phone and the password themselves are checked by the logins' keeper
            t["tenant_password_or_generate"] if password and generate
            else t["tenant_send_needs_phone"] if form.get("send_code") == "1" and not phone
            else None
        )
        if problem:
            raise web.HTTPFound(f"{back}?error={quote(problem)}")
        if generate:
            password = generated_password()
        before = await logins.login_state(account_id)
        change = {"phone": phone or None, "password_change": "generated" if generate else "set" if password else None,
                  "tenant_control": form.get("control") == "1", "code_sent": form.get("send_code") == "1"}
        target = f"account {account_id}"
        try:
            await logins.set_credentials(account_id, password=password or None, phone=phone or None,
                                         tenant_control=change["tenant_control"])
            if change["code_sent"]:
                await logins.send_code(phone)
        except (AuthError, OpenPrepayError) as err:
            shown = err.text(t) if isinstance(err, AuthError) else error_text(err, self.site.language(request))
            await self.site.audit.record(request, operator, "tenant_login", target, before=before,
                                         after={**change, "error": shown}, ok=False)
            raise web.HTTPFound(f"{back}?error={quote(shown)}") from None
        after = await logins.login_state(account_id)
        await self.site.audit.record(request, operator, "tenant_login", target, before=before,
                                     after={**after, **{k: v for k, v in change.items() if k != "phone"}})
        if generate:
            return await self.account_page(request, generated_password=password)
        raise web.HTTPFound(f"{back}#tenant-login")


TENANT_LOGIN_VIEWS = (AccountTenantLoginView,)
