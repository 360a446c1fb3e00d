"""A worker killed with SIGKILL mid-job (OPS-11): the job is recovered automatically, runs to
completion exactly once, and its effect exists once. Real `tynebase worker` processes."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import Account, TestDatabase, unique
from tests.jobs.helpers import (
    enqueue,
    job_row,
    job_settings,
    run_jobs,
    start_worker_process,
    wait_until,
)

pytestmark = pytest.mark.slow


def _stop(process: subprocess.Popen[str]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def test_sigkilled_worker_job_is_recovered_and_completes_once(
    database: TestDatabase,
    admin: Account,
    owner_sql: psycopg.Connection[Any],
    tmp_path: Path,
) -> None:
    settings = job_settings(database)
    run_jobs(settings, database.urls)  # nothing of an earlier test left in the queue
    gate, title, log = tmp_path / "gate", unique("crash"), tmp_path / "workers.log"
    job_id = enqueue(
        settings,
        database.urls,
        tenant_id=admin.tenant_id,
        kind="tests.gated",
        payload={"title": title, "gate": str(gate)},
        created_by=admin.user_id,
    )

    def job() -> dict[str, Any]:
        response = admin.get(f"/api/jobs/{job_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def documents() -> int:
        with owner_sql.transaction():
            owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant_id,))
            row = owner_sql.execute(
                "SELECT count(*) FROM documents WHERE title = %s", (title,)
            ).fetchone()
        assert row is not None
        return int(row[0])

    first = start_worker_process(database, log)
    try:
        # Mid-job: its document written (uncommitted), progress reported, waiting at the gate.
        running = wait_until(
            lambda: (j := job())["progress"] == 50 and j, what=f"the job to start; {log}"
        )
        assert (running["status"], running["attempts"]) == ("running", 1)
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        _stop(first)

    # Nobody is left to finish it: it stays "running" until a worker notices the dead one.
    assert job()["status"] == "running"
    assert documents() == 0  # the killed attempt's write died with its transaction
    gate.touch()

    second = start_worker_process(database, log)
    try:
        done = wait_until(
            lambda: (j := job())["status"] == "succeeded" and j,
            what=f"the job to be recovered; {log}",
        )
    finally:
        assert _stop(second) == 0, log.read_text()

    assert done["attempts"] == 2
    assert done["result"]["attempt"] == 2
    assert done["progress"] == 100
    assert documents() == 1, "the effect of the job was duplicated"
    queue_job_id = job_row(owner_sql, admin.tenant_id, job_id)["queue_job_id"]
    events = [
        kind
        for (kind,) in owner_sql.execute(
            "SELECT type::text FROM procrastinate_events WHERE job_id = %s ORDER BY id",
            (queue_job_id,),
        )
    ]
    # Started twice (the second time after recovery put it back), succeeded once.
    assert events.count("started") == 2, events
    assert events.count("retried") + events.count("deferred_for_retry") == 1, events
    assert events.count("succeeded") == 1, events
    assert "stalled job requeued" in log.read_text()
