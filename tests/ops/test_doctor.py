"""`tynebase doctor` (OPS-5) against a live API: healthy, then one fault at a time (API down,
database unreachable, an index dropped, connections exhausted, a slow query, storage unwritable,
a quota full, a burst of 5xx, lockouts); each time doctor names the cause and its runbook step."""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import make_settings
from tests.ops.conftest import OpsWorld, free_port, live_api
from tynebase.db.engine import libpq_url


@pytest.fixture(scope="module")
def live(ops: OpsWorld) -> Iterator[str]:
    """The ops database served by a real uvicorn on loopback (doctor probes it over HTTP)."""
    settings = make_settings(ops.data_dir, ops.urls.owner, maintenance_cache_seconds=0)
    with live_api(ops, settings) as url:
        yield url


def doctor(
    ops: OpsWorld, url: str, *args: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    saved = dict(ops.extra_env)
    ops.extra_env.update(env or {})
    try:
        result = ops.cli("doctor", "--json", "--url", url, *args)
    finally:
        ops.extra_env.clear()
        ops.extra_env.update(saved)
    assert result.exit_code in (0, 1, 2), result.output
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["status"] == ["pass", "warn", "fail"][result.exit_code]
    return result.exit_code, report


def finding(report: dict[str, Any], check: str) -> dict[str, Any]:
    found = [f for f in report["findings"] if f["check"] == check]
    assert found, f"no finding of {check}: {report}"
    return found[0]


def test_healthy(ops: OpsWorld, live: str) -> None:
    code, report = doctor(ops, live)
    assert code in (0, 1), report
    for name in ("api", "database", "database.indexes", "uploads.storage", "auth.signing_keys"):
        assert finding(report, name)["status"] == "pass", finding(report, name)
    assert finding(report, "api")["runbook"] == "docs/RUNBOOK.md#31-api-not-responding"
    # The human-readable form names the overall state too.
    text = ops.cli("doctor", "--url", live)
    assert "overall:" in text.output


def test_api_not_responding(ops: OpsWorld) -> None:
    code, report = doctor(ops, f"http://127.0.0.1:{free_port()}", "--check", "api")
    assert code == 2
    api = finding(report, "api")
    assert api["status"] == "fail"
    assert "API not responding" in api["summary"]
    assert api["runbook"].endswith("#31-api-not-responding")


def test_database_unreachable(ops: OpsWorld, live: str) -> None:
    dead = f"postgresql://tynebase_owner@127.0.0.1:{free_port()}/tynebase"
    code, report = doctor(ops, live, env={"DATABASE_URL": dead})
    assert code == 2
    database = finding(report, "database")
    assert database["status"] == "fail"
    assert "database unreachable" in database["summary"]
    assert "skipped" in finding(report, "database.indexes")["summary"]


def test_missing_index(ops: OpsWorld, live: str) -> None:
    with ops.owner() as conn:
        row = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_documents_tenant_id_updated_at'"
        ).fetchone()
        assert row is not None
        conn.execute("DROP INDEX ix_documents_tenant_id_updated_at")
        try:
            code, report = doctor(ops, live, "--check", "database.indexes")
        finally:
            conn.execute(row[0])
    assert code == 2
    indexes = finding(report, "database.indexes")
    assert "missing indexes" in indexes["summary"]
    assert indexes["evidence"]["missing"] == {"documents": ["ix_documents_tenant_id_updated_at"]}
    assert doctor(ops, live, "--check", "database.indexes")[0] == 0


def _connections_in_use(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),"
        " current_setting('max_connections')::int"
        " - current_setting('superuser_reserved_connections')::int"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_connections_exhausted(ops: OpsWorld, live: str) -> None:
    """The server is shared with the other test worker, whose connections come and go: fill it
    to ~95 % counting as we go, then give back until doctor has a few slots to look with."""
    held: list[psycopg.Connection[Any]] = []
    try:
        with ops.owner() as conn:
            used, limit = _connections_in_use(conn)
            while used < math.ceil(0.95 * limit):
                try:
                    held.append(psycopg.connect(libpq_url(ops.urls.owner)))
                except psycopg.OperationalError:
                    break  # the other worker took the last slots meanwhile
                used, _ = _connections_in_use(conn)
            while held and limit - _connections_in_use(conn)[0] < 4:
                held.pop().close()
        code, report = doctor(ops, live, "--check", "database.connections")
    finally:
        for held_conn in held:
            held_conn.close()
    # FAIL at >= 95 %, WARN from 80 %: which one depends on the other worker's connections.
    assert code in (1, 2), report
    connections = finding(report, "database.connections")
    assert "connection pool exhaustion" in connections["summary"]
    assert connections["evidence"]["limit"] == limit
    assert connections["evidence"]["connections"] >= 0.8 * limit


def test_slow_query(ops: OpsWorld, live: str) -> None:
    sleeper = psycopg.connect(libpq_url(ops.urls.owner), autocommit=True)
    pid = sleeper.info.backend_pid

    def sleep() -> None:
        with contextlib.suppress(psycopg.errors.QueryCanceled):
            sleeper.execute("SELECT pg_sleep(30)")

    thread = threading.Thread(target=sleep, daemon=True)
    thread.start()
    try:
        with ops.owner() as conn:
            deadline = time.monotonic() + 10
            while not conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND state = 'active' "
                "AND now() - query_start > interval '1.2 seconds'",
                (pid,),
            ).fetchone():
                assert time.monotonic() < deadline
                time.sleep(0.1)
            code, report = doctor(
                ops, live, "--check", "database.slow_queries", "--slow-seconds", "1"
            )
            conn.execute("SELECT pg_cancel_backend(%s)", (pid,))
    finally:
        thread.join(timeout=10)
        sleeper.close()
    assert code == 1, report
    slow = finding(report, "database.slow_queries")
    assert "slow queries" in slow["summary"]
    assert [q["pid"] for q in slow["evidence"]["running"]] == [pid]


def test_storage_unwritable(ops: OpsWorld, live: str, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the blob store should be")
    code, report = doctor(
        ops,
        live,
        "--check",
        "uploads.storage",
        env={"TYNEBASE_STORAGE_URL": f"file://{blocker}/blobs"},
    )
    assert code == 2
    storage = finding(report, "uploads.storage")
    assert "storage not writable" in storage["summary"]
    assert storage["runbook"].endswith("#36-upload-failures")


def test_quota_full(ops: OpsWorld, live: str) -> None:
    admin = ops.accounts.signup()  # free tier
    quota = int(ops.settings.storage_quota_free_bytes or 0)
    with ops.owner() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant_id,))
        conn.execute(
            "INSERT INTO files (tenant_id, storage_key, filename, content_type, kind, "
            "size_bytes, sha256) VALUES (%s, %s, 'big.pdf', 'application/pdf', 'document', "
            "%s, 'x')",
            (admin.tenant_id, f"tenants/{admin.tenant_id}/files/doctor-quota", quota),
        )
    code, report = doctor(ops, live, "--check", "uploads.quota")
    with ops.owner() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant_id,))
        conn.execute("DELETE FROM files WHERE tenant_id = %s", (admin.tenant_id,))
    assert code == 2
    quota_finding = finding(report, "uploads.quota")
    assert "storage quota full" in quota_finding["summary"]
    assert admin.subdomain in quota_finding["evidence"]["full"]


def test_burst_of_5xx(ops: OpsWorld, live: str) -> None:
    assert ops.cli("maintenance", "on", "-m", "doctor test").exit_code == 0
    try:
        with httpx.Client(base_url=live) as client:
            for _ in range(60):
                assert client.post("/api/documents", json={}).status_code == 503
    finally:
        assert ops.cli("maintenance", "off").exit_code == 0
    code, report = doctor(ops, live, "--check", "errors")
    assert code == 2, report
    errors = finding(report, "errors")
    assert "high error rate" in errors["summary"]
    assert errors["evidence"]["errors_5xx"] >= 60


def test_lockouts(ops: OpsWorld, live: str) -> None:
    admin = ops.accounts.signup()
    with httpx.Client(base_url=live, headers={"X-Tenant-Subdomain": admin.subdomain}) as client:
        for _ in range(ops.settings.lockout_threshold):
            client.post("/api/auth/login", json={"email": admin.email, "password": "wrong one!!"})
    code, report = doctor(ops, live, "--check", "auth")
    assert code == 1, report
    lockouts = finding(report, "auth.lockouts")
    assert "lockouts in the last hour" in lockouts["summary"]
    assert lockouts["evidence"]["locked_now"] >= 1


def test_collab_down_and_ai_checks(ops: OpsWorld, live: str) -> None:
    code, report = doctor(
        ops, live, "--check", "collab", "--collab-url", f"http://127.0.0.1:{free_port()}"
    )
    assert code == 2
    collab = finding(report, "collab")
    assert "collaboration server not responding" in collab["summary"]
    assert collab["runbook"].endswith("#32-collaboration-websocket-failures")
    code, report = doctor(ops, live, "--check", "ai")
    assert finding(report, "ai")["status"] == "pass", report
