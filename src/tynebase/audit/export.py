"""Audit entries as CSV or JSON, rendered incrementally (exports can be large)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import orjson

from tynebase.audit.service import entry_dict
from tynebase.db.metadata import AnyRow

FORMATS = ("csv", "json")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
FORMULA_STARTS = frozenset("=+-@\t\r")
CSV_COLUMNS = (
    "id",
    "tenant_id",
    "occurred_at",
    "action",
    "outcome",
    "actor_kind",
    "actor_user_id",
    "actor_label",
    "target_type",
    "target_id",
    "ip",
    "request_id",
    "details",
)


def csv_line(values: list[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue().encode()


def csv_cell(value: Any) -> Any:
    if isinstance(value, dict):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    # Spreadsheet formula injection: a cell that starts like a formula is kept as text.
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return "" if value is None else value


async def render(rows: AsyncIterator[AnyRow], fmt: str) -> AsyncIterator[bytes]:
    """`csv`: a header and one line per entry; `json`: one array, one entry per line."""
    if fmt == "csv":
        yield csv_line(list(CSV_COLUMNS))
        async for row in rows:
            entry = entry_dict(row)
            yield csv_line([csv_cell(entry[column]) for column in CSV_COLUMNS])
        return
    first = True
    yield b"["
    async for row in rows:
        yield (b"\n" if first else b",\n") + orjson.dumps(entry_dict(row))
        first = False
    yield b"\n]\n"
