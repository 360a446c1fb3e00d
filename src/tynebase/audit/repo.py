"""Audit queries. Inserts only: the table refuses UPDATE and DELETE (trigger in 0007)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit.models import PLATFORM_SETTING, audit_log
from tynebase.db.metadata import AnyRow
from tynebase.db.rls import CURRENT_TENANT_SQL

_ENTER_PLATFORM = sa.text("SELECT set_config(:name, 'on', true)").bindparams(name=PLATFORM_SETTING)
CURRENT_TENANT: sa.ColumnElement[Any] = sa.literal_column(CURRENT_TENANT_SQL)


@dataclass(frozen=True)
class Filters:
    action: str | None = None  # exact, or a prefix ending in '.' ("auth.")
    actor_user_id: UUID | None = None
    outcome: str | None = None
    target_id: str | None = None
    target_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def enter_platform(conn: AsyncConnection) -> None:
    """Let this transaction read and write platform entries (NULL tenant)."""
    await conn.execute(_ENTER_PLATFORM)


async def insert(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(audit_log.insert().values(**values))


def _filtered(query: sa.Select[Any], filters: Filters, *, platform: bool) -> sa.Select[Any]:
    # RLS already limits rows to the tenant; the explicit condition lets the index do the work.
    query = query.where(
        audit_log.c.tenant_id.is_(None) if platform else audit_log.c.tenant_id == CURRENT_TENANT
    )
    if filters.action:
        if filters.action.endswith("."):
            query = query.where(audit_log.c.action.startswith(filters.action, autoescape=True))
        else:
            query = query.where(audit_log.c.action == filters.action)
    if filters.actor_user_id is not None:
        query = query.where(audit_log.c.actor_user_id == filters.actor_user_id)
    if filters.outcome:
        query = query.where(audit_log.c.outcome == filters.outcome)
    if filters.target_id:
        query = query.where(audit_log.c.target_id == filters.target_id)
    if filters.target_type:
        query = query.where(audit_log.c.target_type == filters.target_type)
    if filters.since is not None:
        query = query.where(audit_log.c.occurred_at >= filters.since)
    if filters.until is not None:
        query = query.where(audit_log.c.occurred_at < filters.until)
    return query


async def list_page(
    conn: AsyncConnection,
    *,
    filters: Filters,
    after: tuple[datetime, UUID] | None,
    limit: int,
    platform: bool = False,
) -> list[AnyRow]:
    """Newest first; `after` is the (occurred_at, id) of the previous page's last row."""
    query = _filtered(sa.select(audit_log), filters, platform=platform)
    if after is not None:
        query = query.where(sa.tuple_(audit_log.c.occurred_at, audit_log.c.id) < after)
    query = query.order_by(audit_log.c.occurred_at.desc(), audit_log.c.id.desc()).limit(limit)
    return list((await conn.execute(query)).all())


async def stream(
    conn: AsyncConnection, *, filters: Filters, platform: bool = False
) -> AsyncIterator[AnyRow]:
    """Every matching entry, oldest first, without holding them all in memory."""
    query = _filtered(sa.select(audit_log), filters, platform=platform).order_by(
        audit_log.c.occurred_at, audit_log.c.id
    )
    result = await conn.stream(query.execution_options(yield_per=500))
    async for row in result:
        yield row


async def pseudonymise(conn: AsyncConnection, *, user_id: UUID, email: str | None) -> int:
    """Replace the user's identity in the visible entries (the transaction's tenant and, with
    `enter_platform`, platform entries) by a pseudonym; the only change the table accepts."""
    result = await conn.execute(
        sa.select(sa.func.audit_pseudonymise(user_id, sa.cast(email, sa.Text))),
    )
    return int(result.scalar_one())
