"""The procrastinate app of one process, built from its settings and database (never at import).

Each registered job kind (`tynebase.jobs.registry`) becomes a procrastinate task of that name,
with its queue and an exponential backoff; maintenance tasks are added alongside.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

import procrastinate

from tynebase.db.engine import Database, libpq_url
from tynebase.jobs import registry
from tynebase.jobs.registry import JobSpec
from tynebase.settings import Settings
from tynebase.workers import maintenance
from tynebase.workers.retry import BackoffRetry
from tynebase.workers.runner import run_job

QueueTask = Callable[..., Awaitable[None]]


def retry_strategy(settings: Settings, spec: JobSpec) -> BackoffRetry:
    return BackoffRetry(
        max_attempts=spec.max_attempts or settings.job_max_attempts,
        base_seconds=settings.job_retry_base_seconds,
        max_seconds=settings.job_retry_max_seconds,
    )


def _queue_task(settings: Settings, db: Database, spec: JobSpec, retry: BackoffRetry) -> QueueTask:
    async def run(context: procrastinate.JobContext, *, job_id: str, tenant_id: str) -> None:
        await run_job(
            settings=settings,
            db=db,
            spec=spec,
            retry=retry,
            queue_job=context.job,
            job_id=UUID(job_id),
            tenant_id=UUID(tenant_id),
        )

    run.__qualname__ = run.__name__ = f"run_{spec.kind.replace('.', '_').replace('-', '_')}"
    return run


CONNECTION_WAIT_SECONDS = 5.0


def build_queue_app(settings: Settings, db: Database) -> procrastinate.App:
    """A procrastinate app on the app role's database URL; open it with `open_async()`."""
    registry.load_task_modules(settings.job_task_modules)
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(db.urls.app),
        # 0: opening the pool does not wait for the database (30 s while it is down); the
        # first query fails fast instead and the worker is restarted a moment later.
        min_size=0,
        # fetching, finishing and heartbeats; the jobs' own work uses `db`'s pool
        max_size=settings.worker_concurrency + 2,
        # While the database is down a worker fails fast and is restarted (workers/worker.py),
        # instead of waiting the pool's default 30 s for a connection on every attempt.
        timeout=CONNECTION_WAIT_SECONDS,
        kwargs={"application_name": "tynebase-worker", "connect_timeout": 5},
    )
    app = procrastinate.App(connector=connector)
    for spec in registry.specs():
        retry = retry_strategy(settings, spec)
        app.task(
            name=spec.kind,
            queue=spec.queue,
            priority=spec.priority,
            pass_context=True,
            retry=retry,
        )(_queue_task(settings, db, spec, retry))
    maintenance.register(app, settings=settings, db=db)
    return app
