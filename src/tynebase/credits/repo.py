"""Credit queries (tenant rows only, by RLS); never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.credits.models import credit_charges, credit_notices, credit_pools
from tynebase.db.metadata import AnyRow
from tynebase.jobs.models import jobs

ACTIVE_JOB_STATUSES = ("queued", "running")


@dataclass(frozen=True)
class Pool:
    tenant_id: UUID
    period_start: date
    allowance_millis: int
    tier: str


@dataclass(frozen=True)
class Charge:
    id: UUID
    tenant_id: UUID
    period_start: date
    operation: str
    provider: str
    model: str
    status: str
    reserved_millis: int
    charged_millis: int | None
    job_id: UUID | None
    user_id: UUID | None
    details: dict[str, Any]
    expires_at: datetime | None
    release_reason: str | None
    created_at: datetime
    settled_at: datetime | None


def _pool(row: AnyRow) -> Pool:
    return Pool(**{name: getattr(row, name) for name in Pool.__dataclass_fields__})


def _charge(row: AnyRow) -> Charge:
    return Charge(**{name: getattr(row, name) for name in Charge.__dataclass_fields__})


async def ensure_pool(
    conn: AsyncConnection,
    *,
    tenant_id: UUID,
    period_start: date,
    allowance_millis: int,
    tier: str,
    lock: bool = False,
) -> Pool:
    """The month's pool, created at the tier's allowance if missing and raised to it if the
    tier went up (a lower tier applies from the next month). `lock` holds the row until the
    transaction ends, which serialises the tenant's reservations."""
    await conn.execute(
        pg_insert(credit_pools)
        .values(
            tenant_id=tenant_id,
            period_start=period_start,
            allowance_millis=allowance_millis,
            tier=tier,
        )
        .on_conflict_do_nothing()
    )
    query = sa.select(credit_pools).where(
        credit_pools.c.tenant_id == tenant_id, credit_pools.c.period_start == period_start
    )
    pool = _pool((await conn.execute(query.with_for_update() if lock else query)).one())
    if pool.allowance_millis < allowance_millis:
        row = (
            await conn.execute(
                credit_pools.update()
                .where(
                    credit_pools.c.tenant_id == tenant_id,
                    credit_pools.c.period_start == period_start,
                    credit_pools.c.allowance_millis < allowance_millis,
                )
                .values(allowance_millis=allowance_millis, tier=tier)
                .returning(*credit_pools.c)
            )
        ).first()
        if row is not None:
            pool = _pool(row)
    return pool


async def lock_pool(conn: AsyncConnection, *, period_start: date) -> Pool | None:
    """The month's pool, locked until the transaction ends (None if the month has none)."""
    row = (
        await conn.execute(
            sa.select(credit_pools)
            .where(credit_pools.c.period_start == period_start)
            .with_for_update()
        )
    ).first()
    return _pool(row) if row else None


async def release_stale(conn: AsyncConnection, *, now: datetime) -> int:
    """Release reservations that can no longer be charged: their job ended without success
    (failed for good, cancelled, gone), or, without a job, their time ran out."""
    charges = credit_charges
    job_status = sa.select(jobs.c.status).where(jobs.c.id == charges.c.job_id).scalar_subquery()
    job_active = sa.exists().where(
        jobs.c.id == charges.c.job_id, jobs.c.status.in_(ACTIVE_JOB_STATUSES)
    )
    jobless = charges.c.job_id.is_(None)
    result = await conn.execute(
        charges.update()
        .where(
            charges.c.status == "reserved",
            sa.or_(
                sa.and_(jobless, charges.c.expires_at < now),
                sa.and_(~jobless, ~job_active),
            ),
        )
        .values(
            status="released",
            settled_at=now,
            release_reason=sa.case(
                (jobless, sa.literal("expired")),
                else_=sa.func.concat("job_", sa.func.coalesce(job_status, "gone")),
            ),
        )
    )
    return int(result.rowcount)


async def period_sums(conn: AsyncConnection, *, period_start: date) -> tuple[int, int]:
    """(charged, still reserved) millis of the month."""
    charges = credit_charges
    row = (
        await conn.execute(
            sa.select(
                sa.func.coalesce(
                    sa.func.sum(charges.c.charged_millis).filter(charges.c.status == "committed"),
                    0,
                ).label("used"),
                sa.func.coalesce(
                    sa.func.sum(charges.c.reserved_millis).filter(charges.c.status == "reserved"),
                    0,
                ).label("held"),
            ).where(charges.c.period_start == period_start)
        )
    ).one()
    return int(row.used), int(row.held)


async def insert_reservation(conn: AsyncConnection, **values: Any) -> Charge:
    row = (
        await conn.execute(
            credit_charges.insert().values(status="reserved", **values).returning(*credit_charges.c)
        )
    ).one()
    return _charge(row)


async def commit_charge(
    conn: AsyncConnection,
    *,
    where: sa.ColumnElement[bool],
    charged_millis: int,
    provider: str,
    model: str,
    details: dict[str, Any],
    now: datetime,
) -> Charge | None:
    """Charge a reservation that is not charged yet; None when it already was (or is unknown).
    A released one is charged too: the work it paid for did succeed (a manual retry)."""
    row = (
        await conn.execute(
            credit_charges.update()
            .where(where, credit_charges.c.status != "committed")
            .values(
                status="committed",
                charged_millis=charged_millis,
                provider=provider,
                model=model,
                details=credit_charges.c.details.op("||")(sa.literal(details, type_=JSONB)),
                settled_at=now,
                release_reason=None,
            )
            .returning(*credit_charges.c)
        )
    ).first()
    return _charge(row) if row else None


async def get_charge(
    conn: AsyncConnection, *, charge_id: UUID | None = None, job_id: UUID | None = None
) -> Charge | None:
    query = sa.select(credit_charges)
    if charge_id is not None:
        query = query.where(credit_charges.c.id == charge_id)
    if job_id is not None:
        query = query.where(credit_charges.c.job_id == job_id)
    row = (await conn.execute(query)).first()
    return _charge(row) if row else None


async def release(conn: AsyncConnection, *, charge_id: UUID, reason: str, now: datetime) -> bool:
    result = await conn.execute(
        credit_charges.update()
        .where(credit_charges.c.id == charge_id, credit_charges.c.status == "reserved")
        .values(status="released", release_reason=reason, settled_at=now)
    )
    return result.rowcount > 0


async def list_charges(
    conn: AsyncConnection,
    *,
    user_id: UUID | None,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[Charge]:
    """Newest first; `after` is the (created_at, id) of the previous page's last row."""
    query = sa.select(credit_charges)
    if user_id is not None:
        query = query.where(credit_charges.c.user_id == user_id)
    if after is not None:
        query = query.where(
            sa.tuple_(credit_charges.c.created_at, credit_charges.c.id) < sa.tuple_(*after)
        )
    query = query.order_by(credit_charges.c.created_at.desc(), credit_charges.c.id.desc())
    return [_charge(row) for row in (await conn.execute(query.limit(limit))).all()]


async def insert_notice(
    conn: AsyncConnection,
    *,
    tenant_id: UUID,
    period_start: date,
    threshold: int,
    used_millis: int,
    allowance_millis: int,
) -> bool:
    """Record a threshold notice; False if this month already has it."""
    row = (
        await conn.execute(
            pg_insert(credit_notices)
            .values(
                tenant_id=tenant_id,
                period_start=period_start,
                threshold=threshold,
                used_millis=used_millis,
                allowance_millis=allowance_millis,
            )
            .on_conflict_do_nothing()
            .returning(credit_notices.c.threshold)
        )
    ).first()
    return row is not None


async def list_notices(conn: AsyncConnection, *, period_start: date) -> list[AnyRow]:
    query = (
        sa.select(credit_notices)
        .where(credit_notices.c.period_start == period_start)
        .order_by(credit_notices.c.threshold)
    )
    return list((await conn.execute(query)).all())
