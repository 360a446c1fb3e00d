"""Maintenance mode (OPS-8): writes refused with 503 MAINTENANCE and Retry-After, reads and sign-in
keep working, /api/status shows it; scheduled windows are announced and mailed once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.conftest import error_code
from tests.ops.conftest import OpsWorld


def test_on_refuses_writes_keeps_reads_and_status_shows_it(ops: OpsWorld) -> None:
    admin = ops.accounts.signup(tier="base")
    until = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    result = ops.cli("maintenance", "on", "--message", "Upgrading the database", "--until", until)
    assert result.exit_code == 0, result.output
    try:
        write = admin.post("/api/api-keys", json={"name": "during", "scope": "read"})
        assert write.status_code == 503, write.text
        assert error_code(write) == "MAINTENANCE"
        assert write.json()["error"]["message"] == "Upgrading the database"
        retry_after = int(write.headers["Retry-After"])
        assert 1700 < retry_after <= 1800
        assert write.headers["X-Request-ID"]
        for method, path in (("PATCH", f"/api/users/{admin.user_id}"), ("DELETE", "/api/x")):
            assert admin.request(method, path, json={}).status_code == 503
        # Reads keep working, and people can still sign in to read.
        assert admin.get("/api/auth/me").status_code == 200
        assert admin.get("/api/api-keys").status_code == 200
        admin.login()
        status = ops.client.get("/api/status")
        assert status.status_code == 200
        body = status.json()
        assert body["status"] == "maintenance"
        assert body["maintenance"]["message"] == "Upgrading the database"
        assert body["maintenance"]["until"].startswith(until[:16])
        cli_status = ops.cli("maintenance", "status", "--json")
        assert json.loads(cli_status.output)["status"] == "maintenance"
    finally:
        off = ops.cli("maintenance", "off")
        assert off.exit_code == 0, off.output
    assert ops.client.get("/api/status").json()["status"] == "ok"
    after = admin.post("/api/api-keys", json={"name": "after", "scope": "read"})
    assert after.status_code == 201, after.text


def test_on_without_until_uses_the_default_retry_after(ops: OpsWorld) -> None:
    admin = ops.accounts.signup()
    assert ops.cli("maintenance", "on").exit_code == 0
    try:
        write = admin.post("/api/api-keys", json={"name": "x", "scope": "read"})
        assert write.status_code == 503
        assert write.headers["Retry-After"] == str(ops.settings.maintenance_retry_after_seconds)
        assert ops.client.get("/api/status").json()["maintenance"]["until"] is None
    finally:
        assert ops.cli("maintenance", "off").exit_code == 0
    assert "was not on" in ops.cli("maintenance", "off").output


def test_bad_until_is_refused(ops: OpsWorld) -> None:
    result = ops.cli("maintenance", "on", "--until", "yesterday-ish")
    assert result.exit_code == 2
    past = ops.cli("maintenance", "on", "--until", "2001-01-01T00:00:00Z")
    assert past.exit_code == 1
    assert "VALIDATION_ERROR" in past.output
    assert ops.client.get("/api/status").json()["status"] == "ok"


def test_scheduled_window_is_announced_once_and_listed(ops: OpsWorld) -> None:
    admin = ops.accounts.signup()
    unconfirmed = ops.accounts.signup(confirm=False, login=False)
    result = ops.cli(
        "maintenance", "schedule", "--start", "2d", "--end", "50h", "--message", "Moving hosts"
    )
    assert result.exit_code == 0, result.output
    with ops.owner() as conn:
        rows = conn.execute(
            "SELECT to_address FROM mail_outbox WHERE subject LIKE 'Planned maintenance%%' "
            "AND body LIKE '%%Moving hosts%%'"
        ).fetchall()
        window_id = conn.execute(
            "SELECT id::text FROM maintenance_windows WHERE message = 'Moving hosts'"
        ).fetchone()
    recipients = [r[0] for r in rows]
    assert admin.email in recipients
    assert unconfirmed.email not in recipients
    assert len(recipients) == len(set(recipients))  # once each
    assert window_id is not None
    status = ops.client.get("/api/status").json()
    assert status["status"] == "ok"  # announced, not on
    [window] = [w for w in status["scheduled"] if w["message"] == "Moving hosts"]
    assert window["id"] == window_id[0]
    # Writes are still accepted before the window is switched on.
    assert admin.post("/api/api-keys", json={"name": "k", "scope": "read"}).status_code == 201

    assert ops.cli("maintenance", "cancel", window_id[0]).exit_code == 0
    assert not [w for w in ops.client.get("/api/status").json()["scheduled"]]
    again = ops.cli("maintenance", "cancel", window_id[0])
    assert again.exit_code == 1
    assert "MAINTENANCE_WINDOW_NOT_FOUND" in again.output


def test_switching_on_a_started_window_takes_its_message_and_end(ops: OpsWorld) -> None:
    admin = ops.accounts.signup()
    assert (
        ops.cli(
            "maintenance",
            "schedule",
            "--start",
            "1m",
            "--end",
            "2h",
            "-m",
            "Window text",
            "--no-notify",
        ).exit_code
        == 0
    )
    assert ops.cli("maintenance", "on").exit_code == 0
    try:
        status = ops.client.get("/api/status").json()
        assert status["maintenance"]["message"] == "Window text"
        assert status["maintenance"]["until"] is not None
        assert status["scheduled"] == []
        write = admin.post("/api/api-keys", json={"name": "k", "scope": "read"})
        assert write.status_code == 503
        assert 7000 < int(write.headers["Retry-After"]) <= 7200
    finally:
        assert ops.cli("maintenance", "off").exit_code == 0


def test_maintenance_actions_are_in_the_platform_audit_log(ops: OpsWorld) -> None:
    assert ops.cli("maintenance", "on", "-m", "audited").exit_code == 0
    assert ops.cli("maintenance", "off").exit_code == 0
    exported = ops.cli(
        "audit", "export", "--platform", "--format", "json", "--action", "maintenance."
    )
    assert exported.exit_code == 0, exported.output
    entries = json.loads(exported.stdout)
    actions = [e["action"] for e in entries]
    assert "maintenance.on" in actions
    assert "maintenance.off" in actions
    on = [
        e
        for e in entries
        if e["action"] == "maintenance.on" and e["details"]["message"] == "audited"
    ]
    assert on
    assert on[0]["actor_label"] == "cli:pytest"
    assert on[0]["tenant_id"] is None
