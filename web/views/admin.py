"""Administration: operators and API tokens, the audit log, and system configuration with sheet import."""
from __future__ import annotations

import secrets
from datetime import date
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from scada_core.params import form_id, parse_id, query_date
from scada_core.permissions import PERM_AUDIT, PERM_OPERATORS, PERM_REPORTS, PERM_SETTINGS, PERMISSIONS
from scada_core.reports.excel import table_to_xlsx
from scada_core.reports.queries import day_bounds

from ..audit import AuditReader, audit_table
from ..auth import AuthError
from ..const import AUDIT_EXPORT_LIMIT, AUDIT_PAGE_SIZE, ROLES, SESSION_COOKIE
from ..roles import RoleError
from ..site import Page
from ..xlsx_download import at_hand, send_xlsx

MAX_PENDING_IMPORTS = 10


def _form_buildings(form: Any) -> list[str] | None:
    """Return the buildings a form keeps an operator to (none ticked: every building)."""
    return [str(b) for b in form.getall("buildings", [])] or None


def _form_id(form: Any) -> int:
    """Return the operator or token id a form names; ValueError (the form's 400) when it names none."""
    found = form_id(form, "id")
    if found is None:
        raise ValueError("id")
    return found


class OperatorsView(Page):
    """Operators and API tokens."""

    url = "/admin/operators"
    name = "web:operators"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """List operators and tokens; ?format=xlsx exports the operators."""
        operator = self.site.require(request, PERM_OPERATORS)
        if request.query.get("format") != "xlsx":
            return await self.page(request)
        self.site.require(request, PERM_REPORTS)
        t = self.site.t(request)
        operators = await self.site.auth.operators()
        await self.site.audit.record(request, operator, "operators_export", "", after={"rows": len(operators)})
        labels = self.role_labels(t)
        rows = [[o["username"], o["display_name"], labels.get(o["role"], o["role"]), self.buildings_text(o, t),
                 t["yes" if o["active"] else "no"]] for o in operators]
        columns = [t[c] for c in ("username", "display_name", "role", "col_buildings", "active")]
        return await send_xlsx(request, self.core, "operators.xlsx", t["nav_operators"], columns, at_hand(rows))

    async def page(self, request: web.Request, status: int = 200, error: str | None = None,
                   new_token: str | None = None) -> web.Response:
        """Render the page."""
        auth = self.site.auth
        t = self.site.t(request)
        return self.site.render(
            request, "operators.html", status=status, operators=await auth.operators(), tokens=await auth.tokens(),
            roles=auth.roles.names(), role_labels=self.role_labels(t), fixed_roles=ROLES,
            role_permissions={name: auth.roles.permissions(name) for name in auth.roles.names()},
            permissions=PERMISSIONS, buildings=list(auth.buildings), error=error, new_token=new_token)

    def role_labels(self, t: dict[str, str]) -> dict[str, str]:
        """Return every role's name as people read it (a fixed role's in the page's language)."""
        roles = self.site.auth.roles
        return {name: roles.label(name) or t["role_" + name] for name in roles.names()}

    def buildings_text(self, operator: dict[str, Any], t: dict[str, str]) -> str:
        """Return the buildings an operator is kept to, by name ("all buildings" when not kept)."""
        if operator["buildings"] is None:
            return t["all_buildings"]
        return "、".join(self.site.building_name(b) for b in operator["buildings"])

    async def post(self, request: web.Request) -> web.Response:
        """create / update / password / token / revoke."""
        operator, form = await self.site.form(request, PERM_OPERATORS)
        action = str(form.get("action", ""))
        auth = self.site.auth
        t = self.site.t(request)
        try:
            if action == "create":
                created = await auth.create_operator(str(form.get("username", "")).strip(),
                                                     str(form.get("display_name", "")).strip(),
                                                     str(form.get("role", "")), str(form.get("password", "")),
                                                     buildings=_form_buildings(form))
                await self.site.audit.record(request, operator, "operator_create", created["username"], after=created)
            elif action == "update":
                target = _form_id(form)
                buildings = _form_buildings(form)
                if target == operator.id and (form.get("role") != operator.role or form.get("active") != "1"
                                              or buildings is not None):
                    raise AuthError("err_self_lockout")
                before, after = await auth.update_operator(target, role=str(form.get("role", "")),
                                                           active=form.get("active") == "1", buildings=buildings)
                await self.site.audit.record(request, operator, "operator_update", after["username"], before=before,
                                             after=after)
            elif action == "role_save":
                name = str(form.get("name", "")).strip()
                before, after = await auth.roles.save(name, str(form.get("label", "")),
                                                      [str(p) for p in form.getall("permissions", [])])
                auth.forget()
                await self.site.audit.record(request, operator, "role_save", f"role {name}", before=before,
                                             after=after)
            elif action == "role_delete":
                name = str(form.get("name", ""))
                deleted = await auth.roles.delete(name)
                auth.forget()
                await self.site.audit.record(request, operator, "role_delete", f"role {name}", before=deleted)
            elif action == "password":
                target = _form_id(form)
                await auth.set_password(target, str(form.get("password", "")), must_change=True,
                                        keep_session=request.cookies.get(SESSION_COOKIE, ""))
                await self.site.audit.record(request, operator, "operator_password_reset", f"operator {target}")
            elif action == "token":
                target = _form_id(form)
                token_id, token = await auth.create_token(target, str(form.get("name", "")).strip() or "api")
                await self.site.audit.record(request, operator, "token_create", f"operator {target}",
                                             after={"token_id": token_id})
                return await self.page(request, new_token=token)
            elif action == "revoke":
                token_id = _form_id(form)
                if not await auth.revoke_token(token_id):
                    raise AuthError("err_no_token")
                await self.site.audit.record(request, operator, "token_revoke", f"token {token_id}")
            else:
                raise web.HTTPBadRequest(text="unknown action")
        except (AuthError, RoleError, ValueError) as err:
            key = err.key if isinstance(err, (AuthError, RoleError)) else "err_bad_input"
            await self.site.audit.record(request, operator, f"operator_{action}", str(form.get("id", "")),
                                         after={"error": key}, ok=False)
            return await self.page(request, status=400, error=t[key])
        raise web.HTTPFound("/admin/operators")


class AuditView(Page):
    """The audit log with filters."""

    url = "/admin/audit"
    name = "web:audit"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Filter by operator, action, target and dates; a page of the rows, or all of them as .xlsx."""
        operator = self.site.require(request, PERM_AUDIT)
        q = request.query
        since = until = None
        if q.get("start") or q.get("end"):
            since, until = day_bounds(query_date(request, "start", date(1970, 1, 1)),
                                      query_date(request, "end", date(2999, 12, 31)), self.site.offset_s)
        filters = {"operator": q.get("operator") or None, "action": q.get("action") or None,
                   "target": q.get("target") or None, "since": since, "until": until}
        language = self.site.language(request)
        meters = set(self.site.directory.meter_ids())
        reader = AuditReader(self.site.formatter(language), self.site.directory.display_name, meters.__contains__,
                             self.site.building_name)
        if q.get("format") == "xlsx":
            self.site.require(request, PERM_REPORTS)
            rows = await self.site.audit.query(**filters, limit=AUDIT_EXPORT_LIMIT)
            body = await self.core.async_add_executor_job(table_to_xlsx, audit_table(reader, rows))
            await self.site.audit.record(request, operator, "audit_export", "", after={"rows": len(rows)})
            return web.Response(body=body, headers={
                "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "Content-Disposition": 'attachment; filename="audit.xlsx"'})
        count = await self.site.audit.count(**filters)
        pages = max(1, -(-count // AUDIT_PAGE_SIZE))
        page = min(max(1, parse_id(q.get("page", "1")) or 1), pages)
        rows = await self.site.audit.query(**filters, limit=AUDIT_PAGE_SIZE, offset=(page - 1) * AUDIT_PAGE_SIZE)
        operators, actions = await self.site.audit.choices()
        shown = [{**r, "action_name": reader.action(r["action"]), "role_name": reader.role(r["role"]),
                  "target": reader.record_target(r),
                  "changes": reader.changes(r["before"], r["after"])} for r in rows]
        unquoted = {k: v for k, v in q.items() if k != "page"}
        return self.site.render(
            request, "audit.html", rows=shown, q=q, operators=operators,
            actions=sorted({(a, reader.action(a)) for a in actions}, key=lambda pair: pair[1]),
            page=page, pages=pages, count=count, query=urlencode(unquoted))


class SettingsView(Page):
    """System configuration: what YAML declares (read-only) and the meter directory (editable, importable)."""

    url = "/admin/settings"
    name = "web:settings"
    site_wide = True

    async def get(self, request: web.Request) -> web.Response:
        """Show buildings, gateways, buses and meters."""
        self.site.require(request, PERM_SETTINGS)
        return self.page(request)

    def page(self, request: web.Request, status: int = 200, preview: list[dict[str, Any]] | None = None,
             import_id: str = "", message: str | None = None) -> web.Response:
        """Render the page."""
        billing = self.site.billing
        states = self.core.states
        gateways = [s for s in states.async_all("modbus") if s.entity_id.startswith("modbus.gateway_")]
        buses = [s for s in states.async_all("modbus") if s.entity_id.startswith("modbus.bus_")]
        meters = [(e, self.site.directory.classify(e)) for e in self.site.directory.meter_ids()]
        return self.site.render(
            request, "settings.html", status=status, buildings=billing.buildings if billing else {},
            gateways=gateways, buses=buses, meters=meters, preview=preview, import_id=import_id, message=message,
            importable=preview is not None and not any(r["errors"] for r in preview),
        )

    async def post(self, request: web.Request) -> web.StreamResponse:
        """preview (dry run of an uploaded sheet), import (the previewed rows), or edit (one meter)."""
        operator, form = await self.site.form(request, PERM_SETTINGS)
        action = str(form.get("action", ""))
        directory = self.site.directory
        t = self.site.t(request)
        if action == "preview":
            upload = form.get("sheet")
            if not isinstance(upload, web.FileField):
                return self.page(request, status=400, message=t["err_no_file"])
            try:
                rows = directory.check_rows(directory.parse_sheet(upload.filename, upload.file.read()))
            except (ValueError, KeyError, OSError) as err:
                return self.page(request, status=400, message=f"{t['err_bad_sheet']}: {err}")
            import_id = secrets.token_hex(8)
            self.site.pending_imports[import_id] = rows
            while len(self.site.pending_imports) > MAX_PENDING_IMPORTS:
                self.site.pending_imports.pop(next(iter(self.site.pending_imports)))
            return self.page(request, preview=rows, import_id=import_id)
        if action == "import":
            rows = self.site.pending_imports.pop(str(form.get("import_id", "")), None)
            if rows is None or any(r["errors"] for r in rows):
                return self.page(request, status=400, message=t["err_no_file"])
            changes = await directory.save(rows)
            await self.site.audit.record(request, operator, "directory_import", f"{len(changes)} meters",
                                         before=[b for b, _a in changes], after=[a for _b, a in changes])
            self.site.grid.invalidate()
            return self.page(request, message=t["imported"].format(count=len(changes)))
        if action == "edit":
            row = {"line": 0, **{k: str(form.get(k, "")).strip() for k in ("entity_id", "floor", "room", "label")}}
            checked = directory.check_rows([row])
            if checked[0]["errors"]:
                return self.page(request, status=400, message=", ".join(t[e] for e in checked[0]["errors"]))
            before, after = (await directory.save(checked))[0]
            await self.site.audit.record(request, operator, "directory_edit", row["entity_id"], before=before,
                                         after=after)
            self.site.grid.invalidate()
            raise web.HTTPFound(f"/meters/{row['entity_id']}")
        raise web.HTTPBadRequest(text="unknown action")


class DirectoryTemplateView(Page):
    """The import template (CSV with every meter)."""

    url = "/admin/settings/template.csv"
    name = "web:directory_template"
    site_wide = True

    async def get(self, request: web.Request) -> web.Response:
        """Send it."""
        self.site.require(request, PERM_SETTINGS)
        return web.Response(body=("\ufeff" + self.site.directory.template_csv()).encode(), headers={
            "Content-Type": "text/csv; charset=utf-8", "Content-Disposition": 'attachment; filename="meters.csv"'})


ADMIN_VIEWS = (OperatorsView, AuditView, SettingsView, DirectoryTemplateView)
