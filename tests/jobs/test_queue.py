"""The job queue (OPS-11) through the API: queue, run, progress, retries with backoff, dead
letters and their retry, who sees which job; the worker runs in this process."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, Accounts, TestDatabase, error_code, unique
from tests.jobs.helpers import (
    enqueue,
    job_row,
    job_settings,
    run_jobs,
    wait_until,
    worker_thread,
)
from tynebase.api.app import create_app
from tynebase.db.engine import Database
from tynebase.jobs import service as jobs_service
from tynebase.settings import Settings


@pytest.fixture(scope="module")
def cfg(database: TestDatabase) -> Settings:
    """Settings of the test workers: short backoff and polling, the test job kinds."""
    return job_settings(database)


def documents_titled(owner_sql: psycopg.Connection[Any], tenant_id: str, title: str) -> int:
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        row = owner_sql.execute(
            "SELECT count(*) FROM documents WHERE title = %s", (title,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def queue_events(owner_sql: psycopg.Connection[Any], queue_job_id: int) -> list[tuple[Any, ...]]:
    return owner_sql.execute(
        "SELECT type::text, at FROM procrastinate_events WHERE job_id = %s ORDER BY id",
        (queue_job_id,),
    ).fetchall()


def get_job(account: Account, job_id: str) -> dict[str, Any]:
    response = account.get(f"/api/jobs/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def run_until(
    settings: Settings, database: TestDatabase, account: Account, job_id: str, status: str
) -> dict[str, Any]:
    """Run the worker until the job reaches `status` (retries wait out their backoff)."""

    def reached() -> dict[str, Any] | None:
        run_jobs(settings, database.urls)
        job = get_job(account, job_id)
        return job if job["status"] == status else None

    result: dict[str, Any] = wait_until(reached, timeout=60, what=f"job {status}")
    return result


def test_queued_job_runs_and_records_its_result(
    cfg: Settings,
    database: TestDatabase,
    admin: Account,
    owner_sql: psycopg.Connection[Any],
) -> None:
    title = unique("doc")
    job_id = enqueue(
        cfg,
        database.urls,
        tenant_id=admin.tenant_id,
        kind="tests.flaky",
        payload={"title": title, "succeed_on": 1},
        created_by=admin.user_id,
    )
    queued = get_job(admin, job_id)
    assert (queued["status"], queued["progress"], queued["attempts"]) == ("queued", 0, 0)
    assert queued["kind"] == "tests.flaky"
    assert queued["payload"] == {"title": title, "succeed_on": 1}
    assert queued["created_by"] == admin.user_id
    assert queued["started_at"] is None
    assert queued["result"] is None

    run_jobs(cfg, database.urls)

    done = get_job(admin, job_id)
    assert (done["status"], done["progress"], done["attempts"]) == ("succeeded", 100, 1)
    assert done["error"] is None
    assert not done["dead_letter"]
    assert done["started_at"]
    assert done["finished_at"]
    assert done["result"]["attempt"] == 1
    assert documents_titled(owner_sql, admin.tenant_id, title) == 1
    queue_job_id = job_row(owner_sql, admin.tenant_id, job_id)["queue_job_id"]
    status = owner_sql.execute(
        "SELECT status::text FROM procrastinate_jobs WHERE id = %s", (queue_job_id,)
    ).fetchone()
    assert status == ("succeeded",)


def test_enqueue_belongs_to_the_callers_transaction(
    cfg: Settings,
    database: TestDatabase,
    admin: Account,
    owner_sql: psycopg.Connection[Any],
) -> None:
    """A rolled-back request leaves no job (and nothing queued); a committed one has both."""
    tenant_id = UUID(admin.tenant_id)

    class Abort(Exception):
        pass

    async def enqueue_then_fail() -> str:
        db = Database(database.urls, cfg)
        try:
            async with db.unit_of_work(tenant_id) as conn:
                job = await jobs_service.do_enqueue(
                    conn, tenant_id=tenant_id, kind="tests.rejects", payload={}, created_by=None
                )
                raise Abort(str(job.id))
        except Abort as exc:
            return str(exc)
        finally:
            await db.dispose()

    lost = asyncio.run(enqueue_then_fail())
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant_id,))
        assert owner_sql.execute("SELECT count(*) FROM jobs WHERE id = %s", (lost,)).fetchone() == (
            0,
        )
    queued = owner_sql.execute(
        "SELECT count(*) FROM procrastinate_jobs WHERE args->>'job_id' = %s", (lost,)
    ).fetchone()
    assert queued == (0,)
    assert admin.get(f"/api/jobs/{lost}").status_code == 404

    kept = enqueue(cfg, database.urls, tenant_id=admin.tenant_id, kind="tests.rejects", payload={})
    row = job_row(owner_sql, admin.tenant_id, kept)
    entry = owner_sql.execute(
        "SELECT status::text, task_name, args FROM procrastinate_jobs WHERE id = %s",
        (row["queue_job_id"],),
    ).fetchone()
    assert entry == ("todo", "tests.rejects", {"job_id": kept, "tenant_id": admin.tenant_id})
    run_jobs(cfg, database.urls)  # leave nothing queued behind


def test_progress_is_visible_while_the_job_runs(
    cfg: Settings,
    database: TestDatabase,
    admin: Account,
    owner_sql: psycopg.Connection[Any],
    tmp_path: Path,
) -> None:
    gate, title = tmp_path / "gate", unique("doc")
    job_id = enqueue(
        cfg,
        database.urls,
        tenant_id=admin.tenant_id,
        kind="tests.gated",
        payload={"title": title, "gate": str(gate)},
        created_by=admin.user_id,
    )
    with worker_thread(cfg, database.urls):
        running = wait_until(
            lambda: (job := get_job(admin, job_id))["progress"] == 50 and job,
            what="progress 50",
        )
        assert (running["status"], running["message"], running["attempts"]) == (
            "running",
            "halfway",
            1,
        )
        assert running["started_at"]
        assert running["finished_at"] is None
        # The job's document is written but not committed: its effects commit with "done".
        assert documents_titled(owner_sql, admin.tenant_id, title) == 0
        gate.touch()
        done = wait_until(
            lambda: (job := get_job(admin, job_id))["status"] == "succeeded" and job,
            what="job done",
        )
    assert (done["progress"], done["message"]) == (100, "halfway")
    assert documents_titled(owner_sql, admin.tenant_id, title) == 1


def test_transient_failures_are_retried_with_backoff(
    cfg: Settings,
    database: TestDatabase,
    admin: Account,
    owner_sql: psycopg.Connection[Any],
) -> None:
    title = unique("doc")
    job_id = enqueue(
        cfg,
        database.urls,
        tenant_id=admin.tenant_id,
        kind="tests.flaky",
        payload={"title": title, "succeed_on": 3},
        created_by=admin.user_id,
    )
    run_jobs(cfg, database.urls)
    first = get_job(admin, job_id)
    assert (first["status"], first["attempts"]) == ("queued", 1)
    assert first["error"] == {
        "code": "JOB_ERROR",
        "message": "ConnectionError: transient failure on attempt 1",
    }
    assert first["message"].startswith("attempt 1 failed (JOB_ERROR); retrying in ")
    assert not first["dead_letter"]

    done = run_until(cfg, database, admin, job_id, "succeeded")
    assert (done["attempts"], done["error"], done["result"]["attempt"]) == (3, None, 3)
    # Each failed try wrote a document and rolled it back: exactly one remains.
    assert documents_titled(owner_sql, admin.tenant_id, title) == 1

    # Every retry was scheduled after its failure, each wait twice the one before.
    events = queue_events(owner_sql, job_row(owner_sql, admin.tenant_id, job_id)["queue_job_id"])
    kinds = [kind for kind, _ in events]
    assert kinds.count("deferred_for_retry") == 2
    assert kinds.count("succeeded") == 1
    failed_at = [at for kind, at in events if kind == "deferred_for_retry"]
    # (procrastinate logs a "scheduled" event per update of the entry: count each time once)
    retry_at = sorted({at for kind, at in events if kind == "scheduled"})
    waits = [(r - f).total_seconds() for f, r in zip(failed_at, retry_at, strict=True)]
    assert 0 < waits[0] < waits[1], waits


@pytest.mark.parametrize(
    ("kind", "code", "message"),
    [
        ("tests.rejects", "TEST_BAD_INPUT", "This input cannot be processed"),
        ("tests.rejects_plainly", "JOB_FAILED", "Nothing more to say"),
        (
            "tests.returns_a_list",
            "JOB_BAD_RESULT",
            "handler of tests.returns_a_list returned list, not a dict",
        ),
    ],
)
def test_a_deliberate_failure_is_not_retried(
    cfg: Settings,
    database: TestDatabase,
    admin: Account,
    owner_sql: psycopg.Connection[Any],
    kind: str,
    code: str,
    message: str,
) -> None:
    title = unique("rolled back")
    job_id = enqueue(
        cfg,
        database.urls,
        tenant_id=admin.tenant_id,
        kind=kind,
        payload={"title": title},
        created_by=admin.user_id,
    )
    run_jobs(cfg, database.urls)
    job = get_job(admin, job_id)
    assert (job["status"], job["attempts"], job["dead_letter"]) == ("failed", 1, True)
    assert job["error"] == {"code": code, "message": message}
    assert job["finished_at"] is not None
    assert documents_titled(owner_sql, admin.tenant_id, title) == 0


def test_dead_letter_is_listed_and_an_admin_retries_it(
    cfg: Settings,
    database: TestDatabase,
    accounts: Accounts,
    admin: Account,
    tmp_path: Path,
) -> None:
    fixed = tmp_path / "fixed"
    job_id = enqueue(
        cfg,
        database.urls,
        tenant_id=admin.tenant_id,
        kind="tests.broken",
        payload={"fixed": str(fixed)},
        created_by=admin.user_id,
    )
    dead = run_until(cfg, database, admin, job_id, "failed")
    assert (dead["attempts"], dead["dead_letter"]) == (2, True)
    assert dead["error"] == {"code": "JOB_ERROR", "message": "RuntimeError: the dependency is down"}
    assert dead["message"] == "attempt 2 failed (JOB_ERROR); no attempts left"

    failed = admin.get("/api/jobs", params={"status": "failed"})
    assert failed.status_code == 200, failed.text
    assert job_id in {job["id"] for job in failed.json()}
    assert all(job["status"] == "failed" for job in failed.json())
    assert job_id not in {j["id"] for j in admin.get("/api/jobs?status=succeeded").json()}

    for role in ("editor", "contributor", "viewer"):
        member = accounts.member(admin, role)
        refused = member.post(f"/api/jobs/{job_id}/retry")
        assert refused.status_code == 403, refused.text
        assert error_code(refused) == "INSUFFICIENT_ROLE"

    fixed.touch()
    retried = admin.post(f"/api/jobs/{job_id}/retry")
    assert retried.status_code == 202, retried.text
    body = retried.json()
    assert (body["status"], body["progress"], body["message"]) == ("queued", 0, "retry requested")
    assert body["error"]["code"] == "JOB_ERROR"  # the last failure stays visible until success
    again = admin.post(f"/api/jobs/{job_id}/retry")
    assert again.status_code == 409, again.text
    assert error_code(again) == "JOB_NOT_RETRYABLE"
    assert again.json()["error"]["details"] == {"status": "queued"}

    done = run_until(cfg, database, admin, job_id, "succeeded")
    assert (done["attempts"], done["result"], done["error"]) == (3, {"fixed": True}, None)
    finished = admin.post(f"/api/jobs/{job_id}/retry")
    assert finished.status_code == 409
    assert error_code(finished) == "JOB_NOT_RETRYABLE"


def test_members_see_their_own_jobs_and_admins_see_all(
    cfg: Settings,
    database: TestDatabase,
    accounts: Accounts,
    admin: Account,
    other_admin: Account,
) -> None:
    editor, viewer = accounts.member(admin, "editor"), accounts.member(admin, "viewer")

    def job_of(account: Account) -> str:
        return enqueue(
            cfg,
            database.urls,
            tenant_id=account.tenant_id,
            kind="tests.rejects",
            payload={},
            created_by=account.user_id,
        )

    editors, admins, others = job_of(editor), job_of(admin), job_of(other_admin)

    def listed(account: Account, **params: Any) -> set[str]:
        response = account.get("/api/jobs", params=params)
        assert response.status_code == 200, response.text
        return {job["id"] for job in response.json()}

    assert editors in listed(editor)
    assert admins not in listed(editor)
    assert get_job(editor, editors)["id"] == editors
    assert {editors, admins} <= listed(admin)
    assert get_job(admin, editors)["created_by"] == editor.user_id
    assert listed(viewer) == set()
    for account, job_id in ((viewer, editors), (editor, admins), (admin, others)):
        response = account.get(f"/api/jobs/{job_id}")
        assert response.status_code == 404, response.text
        assert error_code(response) == "JOB_NOT_FOUND"
    assert others not in listed(admin)
    # An admin retrying another workspace's job finds nothing.
    response = admin.post(f"/api/jobs/{others}/retry")
    assert response.status_code == 404
    assert error_code(response) == "JOB_NOT_FOUND"

    assert {editors, admins} <= listed(admin, kind="tests.rejects")
    assert listed(admin, kind="tests.other") == set()
    assert len(listed(admin, limit=1)) == 1
    bad = admin.get("/api/jobs", params={"status": "exploded"})
    assert bad.status_code == 400, bad.text
    assert error_code(bad) == "VALIDATION_ERROR"
    run_jobs(cfg, database.urls)


def test_serve_runs_jobs_in_process(database: TestDatabase, admin: Account) -> None:
    """With TYNEBASE_RUN_WORKER_IN_PROCESS (the default of `tynebase serve`), the app's own
    worker runs queued jobs: nobody starts a worker."""
    settings = job_settings(database, run_worker_in_process=True)
    title = unique("doc")
    with TestClient(create_app(settings, database.urls)) as served:
        job_id = enqueue(
            settings,
            database.urls,
            tenant_id=admin.tenant_id,
            kind="tests.flaky",
            payload={"title": title, "succeed_on": 1},
            created_by=admin.user_id,
        )

        def finished() -> dict[str, Any] | None:
            response = served.get(f"/api/jobs/{job_id}", headers=admin.headers)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body if body["status"] == "succeeded" else None

        assert wait_until(finished, what="in-process worker")["attempts"] == 1
