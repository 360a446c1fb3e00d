"""Periodic settling of every tenant's reservations (registered by `tynebase.workers.maintenance`).

Balances settle on read anyway; this keeps the ledger itself current (a reservation of a job
that failed for good, or of a synchronous call whose process died, shows as released) for
tenants nobody looks at.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

import procrastinate
import sqlalchemy as sa

from tynebase.credits import service
from tynebase.db.engine import Database

log = logging.getLogger(__name__)
SETTLE_CRON = "*/10 * * * *"


async def settle_all(db: Database, *, now: datetime | None = None) -> int:
    """Settle each tenant in its own short transaction (RLS: one tenant at a time)."""
    async with db.unit_of_work() as conn:
        # `tenants` is a platform table; named in SQL so this feature does not import tenants
        # (which imports credits to open a new tenant's pool).
        tenant_ids: list[UUID] = list(
            (await conn.execute(sa.text("SELECT id FROM tenants"))).scalars()
        )
    released = 0
    for tenant_id in tenant_ids:
        async with db.unit_of_work(tenant_id) as conn:
            released += await service.do_settle(conn, now=now)
    return released


def register(app: procrastinate.App, *, db: Database, queue: str) -> None:
    @app.periodic(cron=SETTLE_CRON, periodic_id="credits.settle")
    @app.task(name="credits.settle", queue=queue, queueing_lock="credits.settle")
    async def settle_credits(timestamp: int) -> int:
        released = await settle_all(db)
        if released:
            log.info("credit reservations settled", extra={"released": released})
        return released
