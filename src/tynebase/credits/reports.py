"""Usage reports for a workspace's admins: the ledger of a month filtered by person and feature
(operation), totals grouped by either, and the whole filtered ledger streamed for export.
Reads only (tenant rows, by RLS); the balance itself stays `service.get_balance`.

    filters = LedgerFilters(period_start=date(2026, 11, 1), user_id=None, operation=None)
    by_feature = await reports.totals(conn, principal=me, filters=filters, by="operation")
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.credits.models import credit_charges, credit_pools
from tynebase.credits.repo import Charge
from tynebase.credits.service import MAX_PAGE, HistoryPage
from tynebase.documents import cursor

_CHARGE_COLUMNS = tuple(credit_charges.c[name] for name in Charge.__dataclass_fields__)


@dataclass(frozen=True)
class LedgerFilters:
    period_start: date | None = None  # the month (its first day); None: every month
    user_id: UUID | None = None
    operation: str | None = None


@dataclass(frozen=True)
class Total:
    key: Any  # a user id (None: work without a person) or an operation name
    entries: int
    used_millis: int  # charged
    reserved_millis: int  # still held by work in progress


def _where(query: sa.Select[Any], filters: LedgerFilters) -> sa.Select[Any]:
    if filters.period_start is not None:
        query = query.where(credit_charges.c.period_start == filters.period_start)
    if filters.user_id is not None:
        query = query.where(credit_charges.c.user_id == filters.user_id)
    if filters.operation:
        query = query.where(credit_charges.c.operation == filters.operation)
    return query


async def list_periods(conn: AsyncConnection, *, principal: Principal) -> list[date]:
    """The months the workspace has had a pool, newest first."""
    principal.check_role("admin")
    query = sa.select(credit_pools.c.period_start).order_by(credit_pools.c.period_start.desc())
    return list((await conn.execute(query)).scalars())


async def list_operations(
    conn: AsyncConnection, *, principal: Principal, period_start: date | None
) -> list[str]:
    """The operations (features) that have ledger entries in the month."""
    principal.check_role("admin")
    query = _where(
        sa.select(credit_charges.c.operation).distinct(), LedgerFilters(period_start=period_start)
    )
    return sorted((await conn.execute(query)).scalars())


async def totals(
    conn: AsyncConnection,
    *,
    principal: Principal,
    filters: LedgerFilters,
    by: Literal["user_id", "operation"],
) -> list[Total]:
    """Charged and held credits per person or per operation, biggest first."""
    principal.check_role("admin")
    key = credit_charges.c[by]
    used = sa.func.coalesce(
        sa.func.sum(credit_charges.c.charged_millis).filter(credit_charges.c.status == "committed"),
        0,
    )
    held = sa.func.coalesce(
        sa.func.sum(credit_charges.c.reserved_millis).filter(credit_charges.c.status == "reserved"),
        0,
    )
    query = _where(
        sa.select(key, sa.func.count(), used.label("used"), held.label("held")), filters
    ).group_by(key)
    rows = (await conn.execute(query.order_by(sa.desc("used"), key))).all()
    return [Total(key=r[0], entries=int(r[1]), used_millis=int(r[2]), reserved_millis=int(r[3]))
            for r in rows]  # fmt: skip


async def ledger_page(
    conn: AsyncConnection,
    *,
    principal: Principal,
    filters: LedgerFilters,
    cursor_token: str | None,
    limit: int,
) -> HistoryPage:
    """One page of the filtered ledger, newest first."""
    principal.check_role("admin")
    limit = max(1, min(limit, MAX_PAGE))
    query = _where(sa.select(*_CHARGE_COLUMNS), filters)
    if cursor_token:
        after = cursor.decode_time_id(cursor_token)
        query = query.where(
            sa.tuple_(credit_charges.c.created_at, credit_charges.c.id) < sa.tuple_(*after)
        )
    query = query.order_by(credit_charges.c.created_at.desc(), credit_charges.c.id.desc())
    rows = [Charge(**row._mapping) for row in (await conn.execute(query.limit(limit + 1))).all()]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursor.encode_time_id(rows[-1].created_at, rows[-1].id)
    return HistoryPage(items=rows, next_cursor=next_cursor)


async def stream_ledger(
    conn: AsyncConnection, *, principal: Principal, filters: LedgerFilters
) -> AsyncIterator[Charge]:
    """Every matching entry, oldest first, without holding them all in memory."""
    principal.check_role("admin")
    query = _where(sa.select(*_CHARGE_COLUMNS), filters).order_by(
        credit_charges.c.created_at, credit_charges.c.id
    )
    result = await conn.stream(query.execution_options(yield_per=500))
    async for row in result:
        yield Charge(**row._mapping)
