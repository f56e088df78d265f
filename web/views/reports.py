"""The report centre (报表中心): sales, energy (web/views/energy_report.py), alarms, offline devices; every table
also as .xlsx."""
from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web
from markupsafe import Markup

from scada_core.const import ATTR_FRIENDLY_NAME, STATE_UNAVAILABLE
from scada_core.meters import is_meter
from scada_core.params import query_date
from scada_core.permissions import PERM_REPORTS
from scada_core.reports import queries
from scada_core.reports.excel import table_to_xlsx
from scada_core.reports.table import Table, yuan

from ..scoping import request_scope, scoped_meters
from ..site import GATEWAY_PREFIX, Page
from .energy_report import energy_response

KINDS = ("sales", "energy", "alarms_now", "alarms", "offline")


class ReportsView(Page):
    """One report on screen, or the same table as .xlsx with ?format=xlsx."""

    url = "/reports"
    name = "web:reports"

    async def get(self, request: web.Request) -> web.StreamResponse:
        """Build the report the query names (of the operator's buildings, when kept to some)."""
        operator = self.site.require(request, PERM_REPORTS)
        q = request.query
        kind = q.get("kind", "sales") if q.get("kind") in KINDS else "sales"
        if kind == "energy":
            return await energy_response(self.site, request, operator, {
                "kind": kind, "kinds": KINDS, "periods": queries.PERIODS, "query": request.query_string})
        today = self.core.clock.now().date()
        start = query_date(request, "start", today.replace(day=1))
        end = query_date(request, "end", today)
        period = q.get("period", "day") if q.get("period") in queries.PERIODS else "day"
        groups = queries.SALES_GROUPS
        group = q.get("group") if q.get("group") in groups else groups[0]
        table = await self.build(request, kind, start, end, period, group)
        t = self.site.t(request)
        if kind == "sales" and group == "method":
            for row in table.rows:
                row[1] = self.site.method_name(row[1], self.site.language(request))
        shown = Table(t[f"report_{kind}"], [t.get(c, c) for c in table.columns], table.rows,
                      [t.get(v, v) if isinstance(v, str) else v for v in table.totals] if table.totals else None)
        if q.get("format") == "xlsx":
            body = await self.core.async_add_executor_job(table_to_xlsx, shown)
            await self.site.audit.record(request, operator, "report_export", f"{kind} {start}..{end}",
                                         after={"group": group, "period": period, "rows": len(table.rows)})
            return web.Response(body=body, headers={
                "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "Content-Disposition": f'attachment; filename="{kind}-{start}-{end}.xlsx"'})
        id_columns = self.named(shown, table.columns, t["col_label"])
        return self.site.render(request, "reports.html", kind=kind, kinds=KINDS, table=shown, start=start, end=end,
                                period=period, periods=queries.PERIODS, group=group, groups=groups,
                                query=request.query_string, id_columns=id_columns)

    def named(self, table: Table, keys: list[str], name_header: str) -> list[int]:
        """Name meters and gateways as people do, on screen: a name column after each id column (whose cells the
        page shows only in the advanced style), gateways by their label; return the id columns' indexes."""
        meters = set(self.site.directory.meter_ids())

        def is_id(value: object) -> bool:
            return isinstance(value, str) and (value in meters or value.startswith(GATEWAY_PREFIX))

        gateway_column = keys.index("col_gateway") if "col_gateway" in keys else -1
        for row in table.rows:
            if 0 <= gateway_column < len(row) and isinstance(row[gateway_column], str) and row[gateway_column]:
                row[gateway_column] = self.site.gateway_name(row[gateway_column])
        columns = [c for c in range(len(table.columns)) if any(c < len(r) and is_id(r[c]) for r in table.rows)]
        for column in reversed(columns):
            follows = keys[column + 1] if column + 1 < len(keys) else ""
            for row in table.rows:
                value = row[column]
                name = self.name_of(value, meters) if is_id(value) else ""
                if follows == "col_label":
                    row[column + 1] = name or row[column + 1]
                else:
                    row.insert(column + 1, name)
            if follows != "col_label":
                table.columns.insert(column + 1, name_header)
                if table.totals is not None:
                    table.totals.insert(column + 1, "")
        return [c + sum(1 for earlier in columns if earlier < c and (keys[earlier + 1:earlier + 2] != ["col_label"]))
                for c in columns]

    def name_of(self, entity_id: str, meters: set[str]) -> Markup | str:
        """A meter by name (linked to its page), a gateway by its label."""
        if entity_id in meters:
            return Markup('<a href="/meters/{0}">{1}</a>').format(entity_id, self.site.directory.display_name(entity_id))
        return Markup('<span class="gateway">{0}</span>').format(self.site.gateway_name(entity_id))

    async def build(self, request: web.Request, kind: str, start: date, end: date, period: str, group: str) -> Table:
        """Return the report table (column names are message keys)."""
        db = self.site.db
        tz = self.core.clock.time_zone
        scope = request_scope(request)
        if kind == "sales":
            if self.site.billing is None:
                return Table("sales", ["col_period"])
            return await queries.sales_table(db, tz, self.site.offset_s, start, end, period, group,
                                             scope.buildings if scope is not None else None)
        if kind in ("alarms", "alarms_now"):
            t = self.site.t(request)
            labels = {k[6:]: v for k, v in t.items() if k.startswith("level_")}
            if kind == "alarms_now":
                return await self.alarms_now(request, t, labels)
            lo, hi = queries.day_bounds(start, end, self.site.offset_s)
            alarms = [a for a in await self.site.billing.alarms(since=lo) if a["ts"] < hi] if self.site.billing else []
            return queries.alarms_table(scoped_meters(request, alarms, "meter_entity_id"), tz, labels)
        t = self.site.t(request)
        labels = {"meter": t["device_meter"], "gateway": t["device_gateway"], "never": t["never"]}
        return queries.offline_table(scoped_meters(request, await self.offline_devices(), "entity_id"), tz, labels)

    async def alarms_now(self, request: web.Request, t: dict[str, str], labels: dict[str, str]) -> Table:
        """Billing's alarms in force, then the meters whose relay is open (tripped) by any cause."""
        scope = request_scope(request)
        data = await self.site.grid.data() if scope is None else await self.site.grid.scoped(scope.buildings)
        rows = data["rows"]
        meters = {row[0]: (row[1], str(row[5] or row[4] or "")) for row in rows}
        alarms = await self.site.billing.active_alarms() if self.site.billing else []
        alarms = scoped_meters(request, alarms, "meter_entity_id")
        table = queries.alarms_now_table(alarms, self.core.clock.time_zone, labels, meters)
        for row in rows:
            if "T" in row[7]:
                table.rows.append([row[0], row[1], meters[row[0]][1], t["flag_T"], "", yuan(row[8])])
        return table

    async def offline_devices(self) -> list[dict[str, Any]]:
        """Return meters and gateways that are offline now, with when they last answered (None: never)."""
        meters, gateways = [], []
        for state in self.core.states.async_all():
            meter = is_meter(state)
            if not (meter or state.entity_id.startswith(GATEWAY_PREFIX)):
                continue
            if state.state == STATE_UNAVAILABLE or state.attributes.get("online") is False:
                (meters if meter else gateways).append(state)
        # A meter's last read is known since this start; before it, the recorder's readings tell.
        recorded = await queries.last_received(
            self.site.db, [s.entity_id for s in meters if s.attributes.get("last_read") is None])
        devices = [{"entity_id": s.entity_id, "kind": "meter", "gateway": s.attributes.get("gateway"),
                    "last_seen": s.attributes.get("last_read") or recorded.get(s.entity_id)} for s in meters]
        for state in gateways:
            # Connected since this start: it went offline when its state last changed; else its meters tell.
            behind = [d["last_seen"] for d in devices
                      if d["gateway"] == state.attributes.get(ATTR_FRIENDLY_NAME) and d["last_seen"]]
            devices.append({"entity_id": state.entity_id, "kind": "gateway", "gateway": None,
                            "last_seen": state.last_changed if state.attributes.get("connects")
                            else max(behind, default=None)})
        return devices


REPORT_VIEWS = (ReportsView,)
