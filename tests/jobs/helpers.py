"""Run the job machinery from tests: queue jobs, run a worker until the queue is idle or in a
background thread, start `tynebase worker` as a process. Other areas may use these too:
`enqueue(...)` then `run_jobs(settings, queues=None)` runs everything queued."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from tests.conftest import TEST_SECRET, TestDatabase, make_settings
from tests.jobs.tasks import QUEUE
from tynebase.db.engine import Database, DatabaseUrls
from tynebase.jobs import service as jobs_service
from tynebase.settings import Settings
from tynebase.workers.worker import run_until_idle, run_worker

REPO_ROOT = Path(__file__).resolve().parents[2]
TASK_MODULE = "tests.jobs.tasks"
# Short timings so a dead worker is noticed in a couple of seconds.
FAST = {
    "job_retry_base_seconds": 0.1,
    "worker_poll_seconds": 0.2,
    "worker_heartbeat_seconds": 0.5,
    "worker_stalled_seconds": 2.0,
    "worker_shutdown_seconds": 5.0,
    "job_task_modules": [TASK_MODULE],
}


def job_settings(database: TestDatabase, **overrides: Any) -> Settings:
    return make_settings(database.base_dir, database.urls.owner, **{**FAST, **overrides})


def with_db(settings: Settings, urls: DatabaseUrls, work: Callable[[Database], Any]) -> Any:
    async def main() -> Any:
        db = Database(urls, settings)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


def enqueue(
    settings: Settings,
    urls: DatabaseUrls,
    *,
    tenant_id: str,
    kind: str,
    payload: dict[str, Any],
    created_by: str | None = None,
) -> str:
    """Queue a job as a request would (in a tenant transaction); its id."""

    async def work(db: Database) -> str:
        async with db.unit_of_work(UUID(tenant_id)) as conn:
            job = await jobs_service.do_enqueue(
                conn,
                tenant_id=UUID(tenant_id),
                kind=kind,
                payload=payload,
                created_by=UUID(created_by) if created_by else None,
            )
        return str(job.id)

    result: str = with_db(settings, urls, work)
    return result


def run_jobs(
    settings: Settings, urls: DatabaseUrls, *, queues: Sequence[str] | None = (QUEUE,)
) -> None:
    """Run every job that is ready now in `queues` (None: all), then return."""
    with_db(settings, urls, lambda db: run_until_idle(settings, db, queues=queues))


def job_row(owner_sql: Any, tenant_id: str, job_id: str) -> dict[str, Any]:
    """The job as the database holds it (owner role, as the tenant)."""
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        cursor = owner_sql.execute("SELECT to_jsonb(j) FROM jobs j WHERE id = %s", (job_id,))
        row = cursor.fetchone()
    assert row is not None, f"no job {job_id}"
    value: dict[str, Any] = row[0]
    return value


def wait_until(check: Callable[[], Any], *, timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        time.sleep(0.05)


@contextmanager
def worker_thread(
    settings: Settings, urls: DatabaseUrls, *, queues: Sequence[str] | None = (QUEUE,)
) -> Iterator[None]:
    """A waiting worker in a thread of this process, stopped (gracefully) on exit."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, asyncio.Task[None]] = {}

    async def main() -> None:
        db = Database(urls, settings)
        try:
            holder["task"] = asyncio.current_task()  # type: ignore[assignment]
            started.set()
            await run_worker(settings, db, queues=queues)
        except asyncio.CancelledError:
            pass
        finally:
            await db.dispose()

    thread = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield
    finally:
        loop.call_soon_threadsafe(holder["task"].cancel)
        thread.join(30)
        assert not thread.is_alive(), "the worker thread did not stop"
        loop.close()


def start_worker_process(database: TestDatabase, log: Path) -> subprocess.Popen[str]:
    """`tynebase worker` as an operator starts it, on the test database, fast timings; its
    output goes to `log` (a pipe nobody reads could fill up and stall it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TYNEBASE_")}
    env.update(
        DATABASE_URL=database.urls.owner,
        TYNEBASE_SECRET_KEY=TEST_SECRET,
        TYNEBASE_ENVIRONMENT="test",
        TYNEBASE_DATA_DIR=str(database.base_dir),
        TYNEBASE_JOB_TASK_MODULES=f'["{TASK_MODULE}"]',
        TYNEBASE_WORKER_POLL_SECONDS=str(FAST["worker_poll_seconds"]),
        TYNEBASE_WORKER_HEARTBEAT_SECONDS=str(FAST["worker_heartbeat_seconds"]),
        TYNEBASE_WORKER_STALLED_SECONDS=str(FAST["worker_stalled_seconds"]),
        TYNEBASE_WORKER_SHUTDOWN_SECONDS="5",
        TYNEBASE_LOG_LEVEL="INFO",
    )
    with log.open("a") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "tynebase", "worker", "--queue", QUEUE],
            cwd=REPO_ROOT,  # `-m` puts the repository on sys.path: tests.jobs.tasks imports
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
