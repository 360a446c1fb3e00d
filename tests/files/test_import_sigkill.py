"""A worker killed with SIGKILL in the middle of an import: the job is recovered, retried by
another worker and completes once; the half-done attempt left no document behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import TEST_SECRET, Account, TestDatabase
from tests.files.test_imports import job_of, start_import

REPO = Path(__file__).resolve().parents[2]


def count_documents(owner_sql: psycopg.Connection[Any], tenant_id: str, title: str) -> int:
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        row = owner_sql.execute("SELECT count(*) FROM documents WHERE title = %s", (title,))
        (count,) = row.fetchone() or (0,)
    return int(count)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def start_worker(database: TestDatabase, tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    procs: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": database.urls.owner,
        "TYNEBASE_ENVIRONMENT": "test",
        "TYNEBASE_SECRET_KEY": TEST_SECRET,
        "TYNEBASE_DATA_DIR": str(database.base_dir),  # the same blob store as the test app
        "TYNEBASE_JOB_TASK_MODULES": '["tests.files.slow_import"]',
        "TYNEBASE_WORKER_POLL_SECONDS": "0.2",
        "TYNEBASE_WORKER_HEARTBEAT_SECONDS": "0.5",
        "TYNEBASE_WORKER_STALLED_SECONDS": "2",
        "TYNEBASE_JOB_RETRY_BASE_SECONDS": "0",
        "TYNEBASE_WORKER_SHUTDOWN_SECONDS": "1",
        "TB_TEST_IMPORT_MARKER": str(tmp_path / "marker"),
    }
    env.pop("TYNEBASE_STORAGE_URL", None)

    def start(file_id: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"worker{len(procs)}.log").open("wb")
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("tynebase")), "worker", "--concurrency", "1"],
            cwd=REPO,
            env={**env, "TB_TEST_IMPORT_FILE_ID": file_id},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.slow
def test_sigkill_mid_import_retries_and_creates_one_document(
    admin: Account,
    owner_sql: psycopg.Connection[Any],
    start_worker: Callable[[str], subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    title = "Imported exactly once"
    started = start_import(admin, "once.md", f"# {title}\n\nbody\n".encode())
    marker = tmp_path / "marker"

    first = start_worker(started["file_id"])
    wait_for(lambda: marker.exists() or first.poll() is not None, "the import to start")
    assert first.poll() is None, (tmp_path / "worker0.log").read_text()
    assert job_of(admin, started["job_id"])["status"] == "running"
    # The document exists only inside the job's open transaction.
    assert count_documents(owner_sql, admin.tenant_id, title) == 0
    os.kill(first.pid, signal.SIGKILL)
    first.wait()

    start_worker(started["file_id"])
    wait_for(
        lambda: job_of(admin, started["job_id"])["status"] in {"succeeded", "failed"},
        "the job to be recovered and finished",
        timeout=90,
    )
    job = job_of(admin, started["job_id"])
    assert job["status"] == "succeeded", (job, (tmp_path / "worker1.log").read_text()[-3000:])
    assert job["attempts"] == 2
    assert count_documents(owner_sql, admin.tenant_id, title) == 1
    document_id = job["result"]["document_id"]
    lineage = admin.get(f"/api/documents/{document_id}/lineage").json()["items"]
    assert [entry["event"] for entry in lineage] == ["imported"]
