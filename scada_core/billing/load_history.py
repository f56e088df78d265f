"""What load limiting did to each meter over a span of days (限电报表): one row a meter of a run, newest first."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, func, select

from .load_limits import run_meter_dict
from .models import LoadRunMeterRow, LoadRunRow, MeterRow

if TYPE_CHECKING:
    from scada_core.storage.database import Database


def _select(since: float, until: float, buildings: Iterable[str] | None) -> Select[Any]:
    """Select the meters (in ``buildings``; None: all) of the runs whose window overlaps [since, until), with their
    run."""
    statement = (
        select(LoadRunMeterRow, LoadRunRow)
        .join(LoadRunRow, LoadRunRow.id == LoadRunMeterRow.run_id)
        .where(LoadRunRow.start_ts < until, func.coalesce(LoadRunRow.ended_ts, LoadRunRow.end_ts) >= since)
    )
    if buildings is not None:
        statement = statement.join(MeterRow, MeterRow.entity_id == LoadRunMeterRow.meter_entity_id).where(
            MeterRow.building.in_(list(buildings))
        )
    return statement


def _row(meter: LoadRunMeterRow, run: LoadRunRow) -> dict[str, Any]:
    return {
        **run_meter_dict(meter), "id": meter.id, "run_id": run.id, "plan_name": run.plan_name, "action": run.action,
        "limit_w": run.limit_w, "start_ts": run.started_ts or run.start_ts, "end_ts": run.ended_ts or run.end_ts,
    }


async def history_page(
    db: Database, since: float, until: float, limit: int, offset: int, buildings: Iterable[str] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Return one page of the rows (newest first) and how many there are."""
    statement = _select(since, until, buildings)
    async with db.session() as session:
        count = int(await session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
        rows = (await session.execute(
            statement.order_by(LoadRunMeterRow.id.desc()).limit(limit).offset(offset)
        )).all()
    return [_row(meter, run) for meter, run in rows], count


async def history_batches(
    db: Database, since: float, until: float, size: int, buildings: Iterable[str] | None = None
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield every row, newest first, ``size`` at a time (each batch its own short read)."""
    before: int | None = None
    while True:
        statement = _select(since, until, buildings).order_by(LoadRunMeterRow.id.desc()).limit(size)
        if before is not None:
            statement = statement.where(LoadRunMeterRow.id < before)
        async with db.session() as session:
            rows = (await session.execute(statement)).all()
        if not rows:
            return
        yield [_row(meter, run) for meter, run in rows]
        before = rows[-1][0].id
