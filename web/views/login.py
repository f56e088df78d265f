"""Login, logout, password change, language switch and branding files."""
from __future__ import annotations

import secrets
from pathlib import Path

from aiohttp import web

from scada_core.http_security import safe_redirect_path
from scada_core.permissions import PERM_VIEW

from ..auth import KEY_WEB_OPERATOR, AuthError, csrf_ok
from ..const import CSRF_FIELD, LANG_COOKIE, LOGIN_CSRF_COOKIE, SESSION_COOKIE
from ..i18n import LANGUAGES
from ..site import Page, WebSite

BRANDING_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class LoginView(Page):
    """The login page with the site's branding."""

    url = "/login"
    name = "web:login"

    async def get(self, request: web.Request) -> web.Response:
        """Show the login form with a double-submit CSRF token (cookie + field)."""
        return login_page(self.site, request, safe_redirect_path(request.query.get("next")), None)

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Check the CSRF pair, then the password (rate-limited), and start a session."""
        data = await request.post()
        username = str(data.get("username", "")).strip()
        next_url = safe_redirect_path(str(data.get("next", "")))
        if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(data.get(CSRF_FIELD, ""))):
            await self.site.audit.record(request, None, "csrf_refused", "/login", ok=False, username=username)
            raise web.HTTPForbidden(text=self.site.t(request)["err_csrf"])
        try:
            token = await self.site.auth.login(username, str(data.get("password", "")), request.remote or "?")
        except AuthError as err:
            await self.site.audit.record(request, None, "login_failed", username, after={"reason": err.key},
                                         ok=False, username=username)
            return login_page(self.site, request, next_url, err.text(self.site.t(request)),
                              429 if err.key == "err_locked" else 401)
        operator = await self.site.auth.from_session(token)
        await self.site.audit.record(request, operator, "login", username)
        response = web.HTTPFound("/password" if operator and operator.must_change_password else next_url)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax",
                            max_age=int(self.site.auth.session_lifetime), path="/")
        raise response


def login_page(site: WebSite, request: web.Request, next_url: str, error: str | None, status: int = 200) -> web.Response:
    """Render the login page and (re)issue the pre-session CSRF cookie."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = site.render(request, "login.html", status=status, next=next_url, error=error, login_csrf=token)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", path="/")
    return response


class LogoutView(Page):
    """End the session."""

    url = "/logout"
    name = "web:logout"

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Forget the session and go to the login page."""
        operator, _data = await self.site.form(request, PERM_VIEW)
        await self.site.auth.logout(request.cookies.get(SESSION_COOKIE, ""))
        await self.site.audit.record(request, operator, "logout", operator.username)
        response = web.HTTPFound("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response


class PasswordView(Page):
    """Change one's own password (forced for the seeded admin)."""

    url = "/password"
    name = "web:password"

    async def get(self, request: web.Request) -> web.Response:
        """Show the form."""
        self.site.require(request, PERM_VIEW)
        return self.site.render(request, "password.html", error=None)

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Check the current password and store the new one."""
        operator, data = await self.site.form(request, PERM_VIEW)
        new = str(data.get("new", ""))
        t = self.site.t(request)
        if new != str(data.get("confirm", "")):
            return self.site.render(request, "password.html", status=400, error=t["err_password_mismatch"])
        try:
            await self.site.auth.change_own_password(operator.id, str(data.get("current", "")), new,
                                                     request.cookies.get(SESSION_COOKIE, ""))
        except AuthError as err:
            await self.site.audit.record(request, operator, "password_change", operator.username, ok=False)
            return self.site.render(request, "password.html", status=400, error=err.text(t))
        await self.site.audit.record(request, operator, "password_change", operator.username)
        raise web.HTTPFound("/")


class LanguageView(Page):
    """Switch the language (stored on the operator, and in a cookie for the login page)."""

    url = "/language"
    name = "web:language"

    async def post(self, request: web.Request) -> web.StreamResponse:
        """Set the language and go back."""
        data = await request.post()
        language = str(data.get("language", ""))
        if language not in LANGUAGES:
            raise web.HTTPBadRequest(text="unknown language")
        if request.get(KEY_WEB_OPERATOR) is None and not csrf_ok(
            request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(data.get(CSRF_FIELD, ""))
        ):
            raise web.HTTPForbidden(text=self.site.t(request)["err_csrf"])
        if request.get(KEY_WEB_OPERATOR) is not None:
            operator, data = await self.site.form(request, PERM_VIEW)
            before, _after = await self.site.auth.update_operator(operator.id, language=language)
            await self.site.audit.record(request, operator, "language", operator.username,
                                         before={"language": before["language"]}, after={"language": language})
        response = web.HTTPFound(safe_redirect_path(str(data.get("next", "/"))))
        response.set_cookie(LANG_COOKIE, language, samesite="Lax", max_age=365 * 86400, path="/")
        raise response


class BrandingView(Page):
    """The login page's logo and background from the config directory."""

    url = "/branding/{kind:logo|background}"
    name = "web:branding"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Send the configured file."""
        configured = self.site.branding.get(request.match_info["kind"])
        if not configured:
            raise web.HTTPNotFound()
        path = Path(configured)
        if path.suffix.lower() not in BRANDING_TYPES or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Content-Type": BRANDING_TYPES[path.suffix.lower()],
                                               "Cache-Control": "max-age=3600"})


LOGIN_VIEWS = (LoginView, LogoutView, PasswordView, LanguageView, BrandingView)
