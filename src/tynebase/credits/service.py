"""Credit rules (AI-3): reserve before AI work, charge after it succeeded, release otherwise.

- `do_reserve` (in the transaction that starts the work, e.g. the one queueing its job) locks the
  tenant's pool for the month, checks what is left and writes a `reserved` ledger row; 403
  INSUFFICIENT_CREDITS when the price does not fit.
- `do_commit` charges it. For a job it runs in the job's own transaction, which also records the
  job as succeeded: the charge and "succeeded" commit together or not at all, and the ledger row is
  unique per job, so a job is charged exactly once however often it was retried.
- A reservation whose job ended without success (failed for good, cancelled) is released, and so
  is one without a job (a synchronous call whose process died) once it expires: `do_settle` runs
  before every balance is computed, and periodically for every tenant
  (`tynebase.credits.tasks`). A crashed job keeps its reservation while the stalled-job recovery
  requeues it, and loses it when the job fails for good.

Notices go to the tenant's admins (mail outbox) when the month's charges pass 80 % and 95 % of the
pool, once per threshold and month.

    reservation = await credits_service.do_reserve(
        conn, settings=settings, tenant_id=tenant.id, tier=tenant.tier,
        operation="generate.article", provider="openai", model="gpt-4o-mini",
        user_id=principal.user_id, job_id=job.id,
    )
    ...  # later, in the job's transaction, after the model answered:
    await credits_service.do_commit(
        ctx.conn, settings=ctx.settings, tenant_id=ctx.tenant_id, job_id=ctx.job_id,
        operation="generate.article", provider=used.provider, model=used.model,
    )
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.credits import costs, repo
from tynebase.credits.models import credit_charges
from tynebase.credits.repo import Charge, Pool
from tynebase.documents import cursor
from tynebase.errors import Forbidden
from tynebase.mail import service as mail_service
from tynebase.settings import Settings
from tynebase.users import repo as users_repo

log = logging.getLogger(__name__)
MAX_PAGE = 100


class InsufficientCredits(Forbidden):
    code = "INSUFFICIENT_CREDITS"


def _now() -> datetime:
    return datetime.now(UTC)


def period_of(moment: datetime) -> date:
    """The month (its first day, UTC) a moment belongs to."""
    return moment.astimezone(UTC).date().replace(day=1)


def next_period(period: date) -> date:
    return (period + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Balance:
    tier: str
    period_start: date
    allowance_millis: int
    used_millis: int  # charged this month
    reserved_millis: int  # held for work in progress

    @property
    def period_end(self) -> date:
        return next_period(self.period_start)

    @property
    def available_millis(self) -> int:
        return max(0, self.allowance_millis - self.used_millis - self.reserved_millis)

    @property
    def percent_used(self) -> float:
        if self.allowance_millis == 0:
            return 100.0 if self.used_millis else 0.0
        return round(100 * self.used_millis / self.allowance_millis, 1)


async def do_open_pool(
    conn: AsyncConnection, *, tenant_id: UUID, tier: str, now: datetime | None = None
) -> Pool:
    """The month's pool of the tenant (created with the tenant, and on first use each month)."""
    return await repo.ensure_pool(
        conn,
        tenant_id=tenant_id,
        period_start=period_of(now or _now()),
        allowance_millis=costs.pool_millis(tier),
        tier=tier,
    )


async def do_settle(conn: AsyncConnection, *, now: datetime | None = None) -> int:
    """Release the transaction's tenant's reservations that can no longer be charged."""
    released = await repo.release_stale(conn, now=now or _now())
    if released:
        log.info("credit reservations released", extra={"count": released})
    return released


async def get_balance(
    conn: AsyncConnection, *, tenant_id: UUID, tier: str, now: datetime | None = None
) -> Balance:
    now = now or _now()
    pool = await do_open_pool(conn, tenant_id=tenant_id, tier=tier, now=now)
    await do_settle(conn, now=now)
    used, held = await repo.period_sums(conn, period_start=pool.period_start)
    return Balance(
        tier=pool.tier,
        period_start=pool.period_start,
        allowance_millis=pool.allowance_millis,
        used_millis=used,
        reserved_millis=held,
    )


async def do_reserve(
    conn: AsyncConnection,
    *,
    settings: Settings,
    tenant_id: UUID,
    tier: str,
    operation: str,
    provider: str,
    model: str,
    user_id: UUID | None,
    job_id: UUID | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Charge:
    """Hold the price of `operation` on `model`; 403 INSUFFICIENT_CREDITS if it does not fit."""
    now = now or _now()
    price = costs.cost_millis(settings, operation, provider=provider, model=model)
    pool = await repo.ensure_pool(
        conn,
        tenant_id=tenant_id,
        period_start=period_of(now),
        allowance_millis=costs.pool_millis(tier),
        tier=tier,
        lock=True,  # two reservations of one tenant never both take the last credit
    )
    await do_settle(conn, now=now)
    used, held = await repo.period_sums(conn, period_start=pool.period_start)
    available = pool.allowance_millis - used - held
    if price > 0 and price > available:
        raise InsufficientCredits(
            "This workspace has not enough AI credits left this month",
            details={
                "required": costs.to_credits(price),
                "available": costs.to_credits(max(0, available)),
                "allowance": costs.to_credits(pool.allowance_millis),
                "renews_on": next_period(pool.period_start).isoformat(),
            },
        )
    return await repo.insert_reservation(
        conn,
        tenant_id=tenant_id,
        period_start=pool.period_start,
        operation=operation,
        provider=provider,
        model=model,
        reserved_millis=price,
        job_id=job_id,
        user_id=user_id,
        details=details or {},
        expires_at=None
        if job_id is not None
        else now + timedelta(seconds=settings.credit_reservation_ttl_seconds),
    )


async def do_commit(
    conn: AsyncConnection,
    *,
    settings: Settings,
    tenant_id: UUID,
    operation: str,
    provider: str,
    model: str,
    job_id: UUID | None = None,
    charge_id: UUID | None = None,
    user_id: UUID | None = None,
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Charge | None:
    """Charge the reservation of `job_id` (or `charge_id`) at the price of the model that did
    the work. Idempotent: None when it was already charged."""
    if (job_id is None) == (charge_id is None):
        raise ValueError("give job_id or charge_id")
    now = now or _now()
    existing = await repo.get_charge(conn, charge_id=charge_id, job_id=job_id)
    if existing is None:
        if charge_id is not None:
            raise LookupError(f"no credit reservation {charge_id}")
        # A job queued without a reservation (by an operator, or before credits existed) is
        # still charged once; it may take the pool below zero.
        existing = await repo.insert_reservation(
            conn,
            tenant_id=tenant_id,
            period_start=period_of(now),
            operation=operation,
            provider=provider,
            model=model,
            reserved_millis=0,
            job_id=job_id,
            user_id=user_id,
            details={},
        )
    if existing.status == "committed":
        return None
    price = costs.cost_millis(settings, operation, provider=provider, model=model)
    # Serialise with reservations and other charges of the month, so each threshold notice is
    # decided on an exact total.
    pool = await repo.lock_pool(conn, period_start=existing.period_start)
    charged = await repo.commit_charge(
        conn,
        where=credit_charges.c.id == existing.id,
        charged_millis=price,
        provider=provider,
        model=model,
        details=details or {},
        now=now,
    )
    if charged is not None and pool is not None:
        await _send_notices(conn, settings=settings, pool=pool)
    return charged


async def do_release(
    conn: AsyncConnection, *, charge_id: UUID, reason: str, now: datetime | None = None
) -> bool:
    """Give back a reservation whose work failed (False if it was settled already)."""
    return await repo.release(conn, charge_id=charge_id, reason=reason, now=now or _now())


async def _send_notices(conn: AsyncConnection, *, settings: Settings, pool: Pool) -> None:
    used, _ = await repo.period_sums(conn, period_start=pool.period_start)
    if pool.allowance_millis <= 0:
        return
    for threshold in costs.NOTICE_THRESHOLDS:
        if used * 100 < threshold * pool.allowance_millis:
            continue
        if not await repo.insert_notice(
            conn,
            tenant_id=pool.tenant_id,
            period_start=pool.period_start,
            threshold=threshold,
            used_millis=used,
            allowance_millis=pool.allowance_millis,
        ):
            continue
        members = await users_repo.list_members(conn)
        admins = [m for m in members if m.role == "admin" and m.status == "active"]
        renews = next_period(pool.period_start).isoformat()
        for admin in admins:
            await mail_service.do_queue(
                conn,
                to=admin.email,
                subject=f"TyneBase: {threshold}% of this month's AI credits used",
                body=(
                    f"Hello {admin.name},\n\n"
                    f"Your workspace has used {costs.to_credits(used):g} of its "
                    f"{costs.to_credits(pool.allowance_millis):g} AI credits this month "
                    f"({threshold}% or more). The credits renew on {renews}.\n\n"
                    f"Usage: {settings.public_url}/api/credits\n"
                ),
            )
        log.info(
            "credit notice sent",
            extra={"threshold": threshold, "admins": len(admins)},
        )


@dataclass(frozen=True)
class HistoryPage:
    items: list[Charge]
    next_cursor: str | None


async def history(
    conn: AsyncConnection, *, principal: Principal, cursor_token: str | None, limit: int
) -> HistoryPage:
    """The ledger, newest first: every entry for admins, one's own for everyone else."""
    limit = max(1, min(limit, MAX_PAGE))
    after = cursor.decode_time_id(cursor_token) if cursor_token else None
    rows = await repo.list_charges(
        conn,
        user_id=None if principal.has_role("admin") else principal.user_id,
        after=after,
        limit=limit + 1,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursor.encode_time_id(rows[-1].created_at, rows[-1].id)
    return HistoryPage(items=rows, next_cursor=next_cursor)


async def notices(conn: AsyncConnection, *, period_start: date) -> list[tuple[int, datetime]]:
    """(threshold, when) of the notices sent for the month."""
    rows = await repo.list_notices(conn, period_start=period_start)
    return [(row.threshold, row.created_at) for row in rows]
