"""Jobs: queue one in the caller's transaction, see and retry them, and the status transitions
a worker makes (queued → running → succeeded | queued again for a retry | failed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.errors import Conflict, NotFound
from tynebase.jobs import registry, repo
from tynebase.jobs.models import jobs
from tynebase.jobs.repo import Job

ACTIVE = ("queued", "running")


async def _defer(conn: AsyncConnection, *, job_id: UUID, tenant_id: UUID, kind: str) -> int:
    spec = registry.require_spec(kind)
    return await repo.defer_queue_job(
        conn,
        task_name=kind,
        queue=spec.queue,
        priority=spec.priority,
        args={"job_id": str(job_id), "tenant_id": str(tenant_id)},
    )


async def do_enqueue(
    conn: AsyncConnection,
    *,
    tenant_id: UUID,
    kind: str,
    payload: dict[str, Any],
    created_by: UUID | None,
) -> Job:
    """Queue a job of a registered `kind` in the caller's transaction: the `jobs` row and the
    queue entry commit with it, or vanish with it. `conn` must be in `tenant_id` (RLS)."""
    job_id = uuid4()
    queue_job_id = await _defer(conn, job_id=job_id, tenant_id=tenant_id, kind=kind)
    return await repo.insert_job(
        conn,
        job_id=job_id,
        tenant_id=tenant_id,
        kind=kind,
        payload=payload,
        created_by=created_by,
        queue_job_id=queue_job_id,
    )


def _sees_all(principal: Principal) -> bool:
    return principal.has_role("admin")


async def access_job(conn: AsyncConnection, *, principal: Principal, job_id: UUID) -> Job:
    """The job if the caller may see it (their own; admins: any in the workspace)."""
    job = await repo.get_job(conn, job_id)
    if job is None or not (_sees_all(principal) or job.created_by == principal.user_id):
        raise NotFound("Job not found", code="JOB_NOT_FOUND")
    return job


async def list_jobs(
    conn: AsyncConnection,
    *,
    principal: Principal,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
) -> list[Job]:
    """Newest first: the caller's own jobs, or every job of the workspace for admins."""
    return await repo.list_jobs(
        conn,
        created_by=None if _sees_all(principal) else principal.user_id,
        status=status,
        kind=kind,
        limit=limit,
    )


async def do_retry(conn: AsyncConnection, *, principal: Principal | None, job_id: UUID) -> Job:
    """Queue a failed job (a dead letter) again, with a fresh set of attempts. `principal`
    None is the operator (CLI), who has already chosen the tenant."""
    if principal is not None:
        principal.check_role("admin")
    job = await repo.get_job(conn, job_id, for_update=True)
    if job is None:
        raise NotFound("Job not found", code="JOB_NOT_FOUND")
    if job.status != "failed":
        raise Conflict(
            f"Only failed jobs can be retried; this one is {job.status}",
            code="JOB_NOT_RETRYABLE",
            details={"status": job.status},
        )
    # A new queue entry rather than reviving the old one: procrastinate may have pruned it, and
    # a new entry gets the kind's full retry budget.
    queue_job_id = await _defer(conn, job_id=job.id, tenant_id=job.tenant_id, kind=job.kind)
    updated = await repo.update_job(
        conn,
        job.id,
        status="queued",
        progress=0,
        message="retry requested",
        result=None,
        finished_at=None,
        queue_job_id=queue_job_id,
    )
    assert updated is not None
    return updated


async def do_report_progress(
    conn: AsyncConnection, *, job_id: UUID, attempt: int, percent: int, message: str
) -> bool:
    """Progress of the running attempt; False if that attempt is no longer the job's."""
    updated = await repo.update_job(
        conn,
        job_id,
        attempt=attempt,
        statuses=("running",),
        progress=max(0, min(100, int(percent))),
        message=message[:500],
    )
    return updated is not None


# --- transitions made by the worker ---------------------------------------------------------------


async def do_claim(conn: AsyncConnection, *, job_id: UUID, queue_job_id: int) -> Job | None:
    """Start an attempt: running, attempts + 1. None when there is nothing to run: the job is
    gone (tenant deleted), already finished (a retry after a crash that came after the commit),
    or was requeued under another queue entry (a manual retry)."""
    job = await repo.get_job(conn, job_id, for_update=True)
    if job is None or job.queue_job_id != queue_job_id or job.status not in ACTIVE:
        return None
    return await repo.update_job(
        conn,
        job_id,
        status="running",
        attempts=job.attempts + 1,
        progress=0,
        message="",
        started_at=func.coalesce(jobs.c.started_at, func.now()),
    )


async def do_succeed(
    conn: AsyncConnection, *, job_id: UUID, attempt: int, result: dict[str, Any]
) -> bool:
    """Record the result in the job's own transaction (the one holding its effects); False if a
    newer attempt took the job over, and then that transaction must roll back."""
    updated = await repo.update_job(
        conn,
        job_id,
        attempt=attempt,
        statuses=("running",),
        status="succeeded",
        progress=100,
        result=result,
        error=None,
        finished_at=func.now(),
    )
    return updated is not None


async def do_fail_attempt(
    conn: AsyncConnection,
    *,
    job_id: UUID,
    attempt: int,
    error: dict[str, str],
    retry_at: datetime | None,
    message: str,
) -> None:
    """An attempt failed: queued again until `retry_at`, or failed for good (a dead letter)."""
    await repo.update_job(
        conn,
        job_id,
        attempt=attempt,
        statuses=("running",),
        status="queued" if retry_at is not None else "failed",
        error=error,
        message=message[:500],
        finished_at=None if retry_at is not None else func.now(),
    )


async def do_mark_worker_lost(
    conn: AsyncConnection, *, job_id: UUID, queue_job_id: int, final: bool
) -> None:
    """The worker running the job died (no heartbeat): requeued, or failed if that was its
    last attempt."""
    error = {
        "code": "WORKER_LOST",
        "message": "The worker running this job stopped before it finished",
    }
    await repo.update_job(
        conn,
        job_id,
        statuses=ACTIVE,
        on_queue_job=queue_job_id,
        status="failed" if final else "queued",
        error=error,
        message="worker lost; " + ("no attempts left" if final else "retrying"),
        finished_at=func.now() if final else None,
    )
