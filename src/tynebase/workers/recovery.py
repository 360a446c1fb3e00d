"""Stalled-job recovery: jobs whose worker died (SIGKILL, lost machine) go back to the queue.

procrastinate's workers beat every TYNEBASE_WORKER_HEARTBEAT_SECONDS; a `doing` job whose worker
has not beaten for TYNEBASE_WORKER_STALLED_SECONDS (or whose worker row was pruned) is stalled.
Every worker runs this on start and then every TYNEBASE_WORKER_POLL_SECONDS. Each stalled job
is requeued at once (the lost run counts as an attempt) or, after its last attempt, failed with
WORKER_LOST, so a job that kills its worker cannot loop forever.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

import procrastinate

from tynebase.db.engine import Database, set_tenant
from tynebase.jobs import repo as jobs_repo
from tynebase.jobs import service as jobs_service
from tynebase.settings import Settings
from tynebase.workers.retry import BackoffRetry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovered:
    queue_job_id: int
    task_name: str
    requeued: bool  # False: failed for good


def _max_attempts(app: procrastinate.App, task_name: str) -> int:
    task = app.tasks.get(task_name)
    strategy = task.retry_strategy if task is not None else None
    return strategy.max_attempts if isinstance(strategy, BackoffRetry) else 1


async def recover_stalled(
    *,
    app: procrastinate.App,
    db: Database,
    settings: Settings,
    alive_worker_id: int | None = None,
) -> list[Recovered]:
    """Requeue (or fail) every stalled job, in one transaction with the jobs' rows. The calling
    worker (`alive_worker_id`) and its jobs are never taken for dead."""
    recovered: list[Recovered] = []
    async with db.unit_of_work() as conn:
        await jobs_repo.prune_stalled_workers(
            conn, stalled_seconds=settings.worker_stalled_seconds, alive_worker_id=alive_worker_id
        )
        stalled = await jobs_repo.lock_stalled_queue_jobs(
            conn, stalled_seconds=settings.worker_stalled_seconds, alive_worker_id=alive_worker_id
        )
        for queue_job in stalled:
            final = queue_job.attempts + 1 >= _max_attempts(app, queue_job.task_name)
            if final:
                await jobs_repo.fail_queue_job(conn, queue_job_id=queue_job.id)
            else:
                await jobs_repo.retry_queue_job(
                    conn, queue_job_id=queue_job.id, queue=queue_job.queue
                )
            tenant_id, job_id = queue_job.args.get("tenant_id"), queue_job.args.get("job_id")
            if tenant_id and job_id:  # a tenant's job (maintenance tasks have no row)
                await set_tenant(conn, UUID(tenant_id))
                await jobs_service.do_mark_worker_lost(
                    conn, job_id=UUID(job_id), queue_job_id=queue_job.id, final=final
                )
            recovered.append(Recovered(queue_job.id, queue_job.task_name, requeued=not final))
    for item in recovered:
        log.warning(
            "stalled job %s",
            "requeued" if item.requeued else "failed (no attempts left)",
            extra={"queue_job_id": item.queue_job_id, "task": item.task_name},
        )
    return recovered
