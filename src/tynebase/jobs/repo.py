"""Queries on `jobs` (tenant-scoped by RLS) and on procrastinate's queue tables (platform-wide).

procrastinate's SQL functions are called through the caller's connection, so queueing a job is
part of the caller's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.db.metadata import AnyRow
from tynebase.jobs.models import jobs


@dataclass(frozen=True)
class Job:
    id: UUID
    tenant_id: UUID
    kind: str
    status: str
    progress: int
    message: str
    payload: dict[str, Any]
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    attempts: int
    queue_job_id: int | None
    created_by: UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @property
    def dead_letter(self) -> bool:
        """Failed after its last attempt: stays failed until someone retries it."""
        return self.status == "failed"


def _job(row: AnyRow) -> Job:
    return Job(**{name: getattr(row, name) for name in Job.__dataclass_fields__})


async def insert_job(
    conn: AsyncConnection,
    *,
    job_id: UUID,
    tenant_id: UUID,
    kind: str,
    payload: dict[str, Any],
    created_by: UUID | None,
    queue_job_id: int,
) -> Job:
    row = (
        await conn.execute(
            jobs.insert()
            .values(
                id=job_id,
                tenant_id=tenant_id,
                kind=kind,
                payload=payload,
                created_by=created_by,
                queue_job_id=queue_job_id,
            )
            .returning(*jobs.c)
        )
    ).one()
    return _job(row)


async def get_job(conn: AsyncConnection, job_id: UUID, *, for_update: bool = False) -> Job | None:
    query = sa.select(jobs).where(jobs.c.id == job_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return _job(row) if row else None


async def list_jobs(
    conn: AsyncConnection,
    *,
    created_by: UUID | None = None,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
) -> list[Job]:
    query = sa.select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
    if created_by is not None:
        query = query.where(jobs.c.created_by == created_by)
    if status is not None:
        query = query.where(jobs.c.status == status)
    if kind is not None:
        query = query.where(jobs.c.kind == kind)
    return [_job(row) for row in await conn.execute(query)]


async def update_job(
    conn: AsyncConnection,
    job_id: UUID,
    *,
    attempt: int | None = None,
    statuses: tuple[str, ...] | None = None,
    on_queue_job: int | None = None,
    **values: Any,
) -> Job | None:
    """Update the job if it is still at `attempt`, in one of `statuses` and on `on_queue_job`
    (fences: a run superseded by a newer attempt or queue entry must not overwrite it); None
    when a fence fails."""
    query = jobs.update().where(jobs.c.id == job_id)
    if on_queue_job is not None:
        query = query.where(jobs.c.queue_job_id == on_queue_job)
    if attempt is not None:
        query = query.where(jobs.c.attempts == attempt)
    if statuses is not None:
        query = query.where(jobs.c.status.in_(statuses))
    row = (
        await conn.execute(query.values(updated_at=sa.func.now(), **values).returning(*jobs.c))
    ).first()
    return _job(row) if row else None


# --- procrastinate's queue -----------------------------------------------------------------------

_DEFER = sa.text(
    "SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW("
    "CAST(:queue AS varchar), CAST(:task_name AS varchar), CAST(:priority AS integer), "
    "CAST(NULL AS text), CAST(NULL AS text), CAST(:args AS jsonb), CAST(NULL AS timestamptz)"
    ")::procrastinate_job_to_defer_v1]))[1]"
)


async def defer_queue_job(
    conn: AsyncConnection, *, task_name: str, queue: str, priority: int, args: dict[str, str]
) -> int:
    """Insert a procrastinate job (its NOTIFY reaches workers when the transaction commits)."""
    queue_job_id = (
        await conn.execute(
            _DEFER,
            {
                "queue": queue,
                "task_name": task_name,
                "priority": priority,
                "args": json.dumps(args),
            },
        )
    ).scalar_one()
    return int(queue_job_id)


async def tenant_of_job(conn: AsyncConnection, job_id: UUID) -> UUID | None:
    """The tenant a job belongs to, from its queue entries (which RLS does not hide): lets an
    operator name a job by id alone."""
    value = (
        await conn.execute(
            sa.text(
                "SELECT args->>'tenant_id' FROM procrastinate_jobs "
                "WHERE args->>'job_id' = :job_id ORDER BY id DESC LIMIT 1"
            ),
            {"job_id": str(job_id)},
        )
    ).scalar()
    return UUID(value) if value else None


@dataclass(frozen=True)
class StalledQueueJob:
    id: int
    task_name: str
    queue: str
    attempts: int
    args: dict[str, Any]


async def prune_stalled_workers(
    conn: AsyncConnection, *, stalled_seconds: float, alive_worker_id: int | None = None
) -> list[int]:
    """Forget workers that stopped beating (procrastinate's rule), never `alive_worker_id`: the
    worker running this is alive even when a long stretch of CPU work delayed its heartbeat."""
    rows = await conn.execute(
        sa.text(
            "DELETE FROM procrastinate_workers "
            "WHERE last_heartbeat < now() - make_interval(secs => :seconds) "
            "AND id IS DISTINCT FROM :alive RETURNING id"
        ),
        {"seconds": stalled_seconds, "alive": alive_worker_id},
    )
    return [int(worker_id) for (worker_id,) in rows]


async def lock_stalled_queue_jobs(
    conn: AsyncConnection, *, stalled_seconds: float, alive_worker_id: int | None = None
) -> list[StalledQueueJob]:
    """Jobs a worker took and then stopped beating for (procrastinate's heartbeat rule),
    locked so that two workers recovering at once never both requeue one."""
    rows = await conn.execute(
        sa.text(
            "SELECT job.id, job.task_name, job.queue_name, job.attempts, job.args "
            "FROM procrastinate_jobs job "
            "LEFT JOIN procrastinate_workers worker ON worker.id = job.worker_id "
            "WHERE job.status = 'doing' "
            "AND (job.worker_id IS NULL OR job.worker_id IS DISTINCT FROM :alive) "
            "AND (worker.id IS NULL "
            "  OR worker.last_heartbeat < now() - make_interval(secs => :seconds)) "
            "ORDER BY job.id FOR UPDATE OF job SKIP LOCKED"
        ),
        {"seconds": stalled_seconds, "alive": alive_worker_id},
    )
    return [
        StalledQueueJob(
            id=row.id,
            task_name=row.task_name,
            queue=row.queue_name,
            attempts=row.attempts,
            args=row.args,
        )
        for row in rows
    ]


async def retry_queue_job(conn: AsyncConnection, *, queue_job_id: int, queue: str) -> None:
    """Back to `todo` now (procrastinate counts the lost run as an attempt), and wake workers:
    procrastinate notifies only on insert."""
    await conn.execute(
        sa.text("SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)"),
        {"id": queue_job_id},
    )
    payload = json.dumps({"type": "job_inserted", "job_id": queue_job_id})
    await conn.execute(
        sa.text(
            "SELECT pg_notify('procrastinate_queue_v1#' || :queue, :payload), "
            "pg_notify('procrastinate_any_queue_v1', :payload)"
        ),
        {"queue": queue, "payload": payload},
    )


async def fail_queue_job(conn: AsyncConnection, *, queue_job_id: int) -> None:
    await conn.execute(
        sa.text(
            "SELECT procrastinate_finish_job_v1(:id, "
            "CAST('failed' AS procrastinate_job_status), false)"
        ),
        {"id": queue_job_id},
    )
