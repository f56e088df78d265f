"""An .xlsx download of any length: rows come in batches from the database, go to a workbook on disk in a worker
thread, and the finished file is sent in chunks and removed; memory holds one batch and one chunk."""
from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from scada_core.reports.excel import XlsxSheet

if TYPE_CHECKING:
    from scada_core.core import Core

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 256 * 1024


async def at_hand(rows: list[list[Any]]) -> AsyncIterator[list[list[Any]]]:
    """Yield rows already in memory as the one batch of an export (a list the page holds anyway)."""
    yield rows


async def send_xlsx(
    request: web.Request, core: Core, filename: str, title: str, columns: list[str],
    batches: AsyncIterator[list[list[Any]]],
) -> web.StreamResponse:
    """Write ``batches`` under ``columns`` to a sheet and send it as ``filename``."""
    handle, path = tempfile.mkstemp(prefix="openprepay-", suffix=".xlsx")
    os.close(handle)
    try:
        sheet = await core.async_add_executor_job(XlsxSheet, title, columns, Path(path))
        async for rows in batches:
            await core.async_add_executor_job(sheet.append, rows)
        await core.async_add_executor_job(sheet.save)
        response = web.StreamResponse(headers={
            "Content-Type": XLSX_TYPE,
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        })
        response.content_length = os.path.getsize(path)
        await response.prepare(request)
        with open(path, "rb") as file:  # noqa: ASYNC230 - reads go to the executor below
            while chunk := await core.async_add_executor_job(file.read, CHUNK):
                await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        os.unlink(path)
