"""Operating the queue: a job whose worker dies on its last attempt becomes a dead letter
(WORKER_LOST), and `tynebase jobs list | retry` show and requeue dead letters."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner, Result

from tests.conftest import TEST_SECRET, Account, TestDatabase
from tests.jobs.helpers import enqueue, job_row, job_settings, run_jobs, with_db
from tynebase.cli.main import app as cli
from tynebase.db.engine import Database
from tynebase.settings import Settings
from tynebase.workers.app import build_queue_app
from tynebase.workers.recovery import Recovered, recover_stalled


@pytest.fixture(scope="module")
def cfg(database: TestDatabase) -> Settings:
    return job_settings(database)


def simulate_dead_worker(
    owner_sql: psycopg.Connection[Any], tenant_id: str, job_id: str, *, attempts: int
) -> int:
    """The state a worker leaves when killed during attempt `attempts`: its queue entry
    `doing` under a worker whose heartbeat stopped long ago, the job `running`."""
    queue_job_id = job_row(owner_sql, tenant_id, job_id)["queue_job_id"]
    dead = owner_sql.execute(
        "INSERT INTO procrastinate_workers (last_heartbeat) "
        "VALUES (now() - interval '1 hour') RETURNING id"
    ).fetchone()
    assert dead is not None
    owner_sql.execute(
        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s, attempts = %s "
        "WHERE id = %s",
        (dead[0], attempts - 1, queue_job_id),
    )
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        owner_sql.execute(
            "UPDATE jobs SET status = 'running', attempts = %s, progress = 40 WHERE id = %s",
            (attempts, job_id),
        )
    return int(dead[0])


def test_a_worker_never_takes_itself_for_dead(
    cfg: Settings,
    database: TestDatabase,
    admin: Account,
    owner_sql: psycopg.Connection[Any],
    tmp_path: Path,
) -> None:
    """A long stretch of CPU work can delay a worker's own heartbeat past the stall limit: its
    recovery round must not prune its own row (its next fetch would then fail) nor requeue the
    job it is running."""
    job_id = enqueue(
        cfg,
        database.urls,
        tenant_id=admin.tenant_id,
        kind="tests.gated",
        payload={"title": "late heartbeat", "gate": str(tmp_path / "gate")},
        created_by=admin.user_id,
    )
    late = simulate_dead_worker(owner_sql, admin.tenant_id, job_id, attempts=cfg.job_max_attempts)

    def recover(alive: int | None) -> list[Recovered]:
        async def work(db: Database) -> list[Recovered]:
            app = build_queue_app(cfg, db)
            return await recover_stalled(app=app, db=db, settings=cfg, alive_worker_id=alive)

        return with_db(cfg, database.urls, work)

    assert recover(late) == []
    assert owner_sql.execute(
        "SELECT count(*) FROM procrastinate_workers WHERE id = %s", (late,)
    ).fetchone() == (1,)
    assert admin.get(f"/api/jobs/{job_id}").json()["status"] == "running"

    [recovered] = recover(None)  # seen by any other worker, it is dead
    assert recovered.requeued is False
    assert admin.get(f"/api/jobs/{job_id}").json()["error"]["code"] == "WORKER_LOST"


def test_worker_lost_on_the_last_attempt_makes_a_dead_letter(
    cfg: Settings,
    database: TestDatabase,
    admin: Account,
    owner_sql: psycopg.Connection[Any],
    tmp_path: Path,
) -> None:
    job_id = enqueue(
        cfg,
        database.urls,
        tenant_id=admin.tenant_id,
        kind="tests.gated",
        payload={"title": "never", "gate": str(tmp_path / "gate")},
        created_by=admin.user_id,
    )
    simulate_dead_worker(owner_sql, admin.tenant_id, job_id, attempts=cfg.job_max_attempts)

    run_jobs(cfg, database.urls)  # a worker starting recovers stalled jobs first

    job = admin.get(f"/api/jobs/{job_id}").json()
    assert (job["status"], job["dead_letter"], job["attempts"]) == ("failed", True, 5)
    assert job["error"]["code"] == "WORKER_LOST"
    assert job["message"] == "worker lost; no attempts left"
    assert job["finished_at"] is not None
    queue_job_id = job_row(owner_sql, admin.tenant_id, job_id)["queue_job_id"]
    status = owner_sql.execute(
        "SELECT status::text FROM procrastinate_jobs WHERE id = %s", (queue_job_id,)
    ).fetchone()
    assert status == ("failed",)


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """The CLI configures logging for the process; put the test runner's back afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = saved[0], saved[1]


@pytest.fixture
def tynebase(database: TestDatabase, keep_logging: None) -> Any:
    runner = CliRunner()
    env = {
        "DATABASE_URL": database.urls.owner,
        "TYNEBASE_SECRET_KEY": TEST_SECRET,
        "TYNEBASE_ENVIRONMENT": "test",
        "TYNEBASE_DATA_DIR": str(database.base_dir),
        "COLUMNS": "200",
    }

    def invoke(*args: str) -> Result:
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def test_cli_lists_dead_letters_and_retries_them(
    cfg: Settings, database: TestDatabase, admin: Account, other_admin: Account, tynebase: Any
) -> None:
    dead = enqueue(
        cfg,
        database.urls,
        tenant_id=admin.tenant_id,
        kind="tests.rejects",
        payload={},
        created_by=admin.user_id,
    )
    elsewhere = enqueue(
        cfg, database.urls, tenant_id=other_admin.tenant_id, kind="tests.rejects", payload={}
    )
    run_jobs(cfg, database.urls)

    listed = tynebase("jobs", "list", "--status", "failed", "--json")
    assert listed.exit_code == 0, listed.output
    jobs = {job["id"]: job for job in json.loads(listed.output)}
    assert {dead, elsewhere} <= jobs.keys()  # every workspace's dead letters
    assert jobs[dead]["tenant"] == admin.subdomain
    assert jobs[dead]["dead_letter"] is True
    assert jobs[dead]["error"]["code"] == "TEST_BAD_INPUT"
    assert all(job["status"] == "failed" for job in jobs.values())

    one = tynebase("jobs", "list", "--tenant", admin.subdomain, "--json")
    assert one.exit_code == 0, one.output
    assert {job["tenant"] for job in json.loads(one.output)} == {admin.subdomain}
    table = tynebase("jobs", "list", "--tenant", admin.subdomain, "--status", "failed")
    assert table.exit_code == 0, table.output
    assert dead in table.output  # whole, even in a narrow terminal

    retried = tynebase("jobs", "retry", dead)
    assert retried.exit_code == 0, retried.output
    assert f"job {dead} (tests.rejects) queued again" in retried.output
    job = admin.get(f"/api/jobs/{dead}").json()
    assert (job["status"], job["message"]) == ("queued", "retry requested")

    again = tynebase("jobs", "retry", dead)
    assert again.exit_code == 1
    assert "JOB_NOT_RETRYABLE" in again.output
    missing = tynebase("jobs", "retry", str(uuid.uuid4()))
    assert missing.exit_code == 1
    assert "JOB_NOT_FOUND" in missing.output
    nowhere = tynebase("jobs", "list", "--tenant", "no-such-workspace")
    assert nowhere.exit_code == 1
    assert "TENANT_NOT_FOUND" in nowhere.output
    assert tynebase("jobs", "list", "--status", "exploded").exit_code == 2

    run_jobs(cfg, database.urls)
    assert admin.get(f"/api/jobs/{dead}").json()["attempts"] == 2
