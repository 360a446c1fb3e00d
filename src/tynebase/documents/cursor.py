"""Opaque keyset cursors: the sort key of the last row of a page, as URL-safe base64 JSON.

Clients must treat them as opaque; they change shape whenever the sort order does.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from tynebase.errors import ValidationFailed

MAX_CURSOR_CHARS = 200


def _invalid() -> ValidationFailed:
    return ValidationFailed(
        "This cursor is not valid; start again from the first page",
        code="INVALID_CURSOR",
        details={"field": "cursor"},
    )


def encode(*values: str | int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(values))).decode().rstrip("=")


def _decode(cursor: str, size: int) -> list[Any]:
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        values = orjson.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise _invalid() from exc
    if not isinstance(values, list) or len(values) != size:
        raise _invalid()
    return values


def encode_time_id(at: datetime, row_id: UUID) -> str:
    return encode(at.isoformat(), str(row_id))


def decode_time_id(cursor: str) -> tuple[datetime, UUID]:
    at, row_id = _decode(cursor, 2)
    try:
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment, UUID(row_id)
    except (TypeError, ValueError) as exc:
        raise _invalid() from exc


def decode_int(cursor: str) -> int:
    (value,) = _decode(cursor, 1)
    # Kept inside PostgreSQL's bigint, so a forged cursor cannot make the query fail.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**62:
        raise _invalid()
    return value
