"""Runs one job for the worker: the entry point that owns the job's transactions.

1. claim (own transaction, committed): running, attempts + 1; skip if already finished;
2. the handler's work and the job's result + `succeeded` in ONE transaction (tenant set), so
   effects and "done" commit together: a rerun after a crash never repeats committed effects;
3. on failure, the work rolls back and the attempt is recorded (queued for a retry at the
   backoff's time, or failed for good); procrastinate then reschedules with the same strategy.

Progress reports use their own short transactions. Every write after the claim is fenced on the
attempt number, so a run that lost its job to a newer attempt (its worker was presumed dead)
cannot overwrite it and its effects roll back.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from uuid import UUID

from procrastinate.jobs import Job as QueueJob

from tynebase.db.engine import Database
from tynebase.jobs import registry
from tynebase.jobs import service as jobs_service
from tynebase.jobs.registry import JobContext, JobSpec
from tynebase.settings import Settings
from tynebase.workers.retry import BackoffRetry

log = logging.getLogger(__name__)


class _Superseded(Exception):
    """A newer attempt owns the job: roll this one's work back."""


async def run_job(
    *,
    settings: Settings,
    db: Database,
    spec: JobSpec,
    retry: BackoffRetry,
    queue_job: QueueJob,
    job_id: UUID,
    tenant_id: UUID,
) -> None:
    assert queue_job.id is not None
    async with db.unit_of_work(tenant_id) as conn:
        job = await jobs_service.do_claim(conn, job_id=job_id, queue_job_id=queue_job.id)
    if job is None:
        log.info("job has nothing left to run", extra={"job_id": str(job_id)})
        return
    attempt = job.attempts
    extra = {"job_id": str(job_id), "kind": spec.kind, "attempt": attempt}

    async def report(percent: int, message: str) -> None:
        async with db.unit_of_work(tenant_id) as progress_conn:
            await jobs_service.do_report_progress(
                progress_conn, job_id=job_id, attempt=attempt, percent=percent, message=message
            )

    try:
        async with db.unit_of_work(tenant_id) as conn:
            context = JobContext(
                db=db,
                conn=conn,
                settings=settings,
                tenant_id=tenant_id,
                job_id=job_id,
                kind=spec.kind,
                payload=job.payload,
                attempt=attempt,
                max_attempts=retry.max_attempts,
                created_by=job.created_by,
                reporter=report,
            )
            result = await spec.handler(context)
            if not isinstance(result, dict):
                raise registry.JobFailed(
                    f"handler of {spec.kind} returned {type(result).__name__}, not a dict",
                    code="JOB_BAD_RESULT",
                )
            if not await jobs_service.do_succeed(
                conn, job_id=job_id, attempt=attempt, result=result
            ):
                raise _Superseded
    except _Superseded:
        log.warning("job was taken over by a newer attempt; work rolled back", extra=extra)
        return
    except asyncio.CancelledError as exc:
        # The worker is stopping (or the job was aborted): the work has rolled back and
        # procrastinate requeues the job; say so on the job, even while being cancelled.
        await asyncio.shield(_record_failure(db, tenant_id, job_id, attempt, exc, retry, queue_job))
        raise
    except Exception as exc:
        await _record_failure(db, tenant_id, job_id, attempt, exc, retry, queue_job)
        raise
    log.info("job succeeded", extra=extra)


async def _record_failure(
    db: Database,
    tenant_id: UUID,
    job_id: UUID,
    attempt: int,
    exc: BaseException,
    retry: BackoffRetry,
    queue_job: QueueJob,
) -> None:
    # The same decision procrastinate takes next with the same strategy and job.
    decision = retry.get_retry_decision(exception=exc, job=queue_job)
    retry_at = None
    if decision is not None:
        retry_at = decision.retry_at or datetime.now(UTC)
    error = (
        {"code": "WORKER_STOPPED", "message": "The worker stopped while running this job"}
        if isinstance(exc, asyncio.CancelledError)
        else registry.error_of(exc)
    )
    if retry_at is not None:
        wait = max(0.0, (retry_at - datetime.now(UTC)).total_seconds())
        message = f"attempt {attempt} failed ({error['code']}); retrying in {wait:.1f} s"
    elif isinstance(exc, asyncio.CancelledError) or registry.is_retryable(exc):
        message = f"attempt {attempt} failed ({error['code']}); no attempts left"
    else:
        message = f"failed ({error['code']}); not retried"
    try:
        async with db.unit_of_work(tenant_id) as conn:
            await jobs_service.do_fail_attempt(
                conn,
                job_id=job_id,
                attempt=attempt,
                error=error,
                retry_at=retry_at,
                message=message,
            )
    except Exception:
        # The original failure matters more; the next attempt (or recovery) fixes the row.
        log.exception("could not record the job's failure", extra={"job_id": str(job_id)})
