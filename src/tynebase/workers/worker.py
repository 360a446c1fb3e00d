"""Running workers: `tynebase worker` (a process of its own), inside `tynebase serve` (a task in
the app's lifespan), and bounded runs that stop when the queues are empty (tests, one-off)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

import procrastinate
from procrastinate.worker import Worker

from tynebase.db.engine import Database
from tynebase.settings import Settings
from tynebase.workers.app import build_queue_app
from tynebase.workers.recovery import recover_stalled

log = logging.getLogger(__name__)
RESTART_DELAY_SECONDS = 5.0


async def _recover_forever(
    app: procrastinate.App, db: Database, settings: Settings, worker: Worker
) -> None:
    while True:
        await asyncio.sleep(settings.worker_poll_seconds)
        try:
            await recover_stalled(
                app=app, db=db, settings=settings, alive_worker_id=worker.worker_id
            )
        except Exception:
            # A database hiccup must not stop the worker; the next round tries again.
            log.exception("stalled-job recovery failed")


async def run_worker(
    settings: Settings,
    db: Database,
    *,
    queues: Sequence[str] | None = None,
    wait: bool = True,
    concurrency: int | None = None,
    install_signal_handlers: bool = False,
    name: str = "tynebase-worker",
) -> None:
    """Run jobs until stopped (cancel the task, or SIGINT/SIGTERM with signal handlers); with
    `wait=False`, until no job is ready in `queues` (None: every queue)."""
    app = build_queue_app(settings, db)
    async with app.open_async():
        worker = Worker(
            app,
            queues=list(queues) if queues else None,
            name=name,
            concurrency=concurrency or settings.worker_concurrency,
            wait=wait,
            listen_notify=wait,
            fetch_job_polling_interval=settings.worker_poll_seconds,
            update_heartbeat_interval=settings.worker_heartbeat_seconds,
            stalled_worker_timeout=settings.worker_stalled_seconds,
            shutdown_graceful_timeout=settings.worker_shutdown_seconds,
            install_signal_handlers=install_signal_handlers,
        )
        # Jobs of a worker that died while none was running are taken back before anything
        # else; afterwards, every poll interval.
        await recover_stalled(app=app, db=db, settings=settings)
        if not wait:
            await worker.run()  # type: ignore[no-untyped-call]
            return
        recovery = asyncio.create_task(_recover_forever(app, db, settings, worker), name="recovery")
        try:
            await worker.run()  # type: ignore[no-untyped-call]
        finally:
            recovery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recovery


async def run_until_idle(
    settings: Settings, db: Database, *, queues: Sequence[str] | None = None
) -> None:
    """Run every job that is ready now, then return."""
    await run_worker(settings, db, queues=queues, wait=False)


async def _supervise(settings: Settings, db: Database) -> None:
    while True:
        try:
            await run_worker(settings, db, name="tynebase-serve-worker")
            return
        except Exception:
            log.exception("in-process worker stopped; restarting")
            await asyncio.sleep(RESTART_DELAY_SECONDS)


@contextlib.asynccontextmanager
async def in_process_worker(settings: Settings, db: Database) -> AsyncIterator[None]:
    """A worker beside the API in one process (`tynebase serve`): started with the app,
    stopped (running jobs finish or are requeued) when it shuts down."""
    task = asyncio.create_task(_supervise(settings, db), name="in-process worker")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
