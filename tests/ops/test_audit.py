"""Audit log (OPS-10): security and admin actions are recorded in the same transaction, tenant
admins read and export them, and the table is append-only except for GDPR pseudonymisation."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import psycopg
import pytest

from tests.conftest import Account, error_code
from tests.ops.conftest import OpsWorld


def entries(admin: Account, **params: Any) -> list[dict[str, Any]]:
    response = admin.get("/api/audit", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_security_actions_are_recorded_and_readable_by_admins(ops: OpsWorld) -> None:
    admin = ops.accounts.signup(tier="base")
    bad = ops.client.post(
        "/api/auth/login",
        json={"email": admin.email, "password": "wrong password entirely"},
        headers={"X-Tenant-Subdomain": admin.subdomain, "X-Request-ID": "req-audit-1"},
    )
    assert bad.status_code == 401
    key = admin.post("/api/api-keys", json={"name": "ci", "scope": "read"}).json()
    assert admin.request("DELETE", f"/api/api-keys/{key['id']}").status_code == 204
    editor = ops.accounts.member(admin, "editor")
    assert (
        admin.request("PATCH", f"/api/users/{editor.user_id}", json={"role": "viewer"}).status_code
        == 200
    )

    actions = [e["action"] for e in entries(admin, limit=100)]
    for expected in (
        "auth.login.failed",
        "auth.login.succeeded",
        "api_key.created",
        "api_key.revoked",
        "invite.created",
        "invite.accepted",
        "member.updated",
    ):
        assert expected in actions, (expected, actions)
    [failed] = entries(admin, action="auth.login.failed")
    assert failed["outcome"] == "failure"
    assert failed["details"] == {"reason": "INVALID_CREDENTIALS", "email": admin.email}
    assert failed["request_id"] == "req-audit-1"
    assert failed["ip"] == "testclient"
    [changed] = entries(admin, action="member.updated")
    assert changed["actor_user_id"] == admin.user_id
    assert changed["target_id"] == editor.user_id
    assert changed["details"]["before"]["role"] == "editor"
    assert changed["details"]["after"]["role"] == "viewer"
    # Prefix filter, actor filter, outcome filter.
    assert {e["action"] for e in entries(admin, action="api_key.")} == {
        "api_key.created",
        "api_key.revoked",
    }
    assert all(
        e["actor_user_id"] == editor.user_id for e in entries(admin, actor_id=editor.user_id)
    )
    assert all(e["outcome"] == "failure" for e in entries(admin, outcome="failure"))

    # Members who are not admins cannot read it.
    denied = editor.login().get("/api/audit")
    assert denied.status_code == 403
    assert error_code(denied) == "INSUFFICIENT_ROLE"


def test_lockout_is_recorded(ops: OpsWorld) -> None:
    admin = ops.accounts.signup()
    for _ in range(ops.settings.lockout_threshold):
        ops.client.post(
            "/api/auth/login",
            json={"email": admin.email, "password": "not the password at all"},
            headers={"X-Tenant-Subdomain": admin.subdomain},
        )
    with ops.owner() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant_id,))
        rows = conn.execute(
            "SELECT action FROM audit_log WHERE tenant_id = %s", (admin.tenant_id,)
        ).fetchall()
    actions = [r[0] for r in rows]
    assert actions.count("auth.login.failed") == ops.settings.lockout_threshold
    assert actions.count("auth.account.locked") == 1


def test_cursor_pagination_walks_every_entry_once(ops: OpsWorld) -> None:
    admin = ops.accounts.signup()
    for i in range(7):
        assert (
            admin.post("/api/api-keys", json={"name": f"k{i}", "scope": "read"}).status_code == 201
        )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "action": "api_key.created"}
        if cursor:
            params["cursor"] = cursor
        page = admin.get("/api/audit", params=params).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7 == len(set(seen))
    bad = admin.get("/api/audit", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400
    assert error_code(bad) == "INVALID_CURSOR"


def test_export_streams_csv_and_json(ops: OpsWorld) -> None:
    admin = ops.accounts.signup()
    assert (
        admin.post(
            "/api/api-keys", json={"name": "=cmd|' /C calc'!A0", "scope": "read"}
        ).status_code
        == 201
    )
    as_csv = admin.get("/api/audit/export", params={"format": "csv"})
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {r["action"] for r in rows} >= {"auth.login.succeeded", "api_key.created"}
    created = next(r for r in rows if r["action"] == "api_key.created")
    assert json.loads(created["details"])["name"].startswith("=cmd")  # JSON cell, not a formula
    as_json = admin.get("/api/audit/export", params={"format": "json", "action": "api_key."})
    assert as_json.status_code == 200
    assert [e["action"] for e in as_json.json()] == ["api_key.created"]
    cli = ops.cli("audit", "export", "--tenant", admin.subdomain, "--format", "json")
    assert cli.exit_code == 0, cli.output
    assert {e["id"] for e in json.loads(cli.stdout)} == {r["id"] for r in rows}
    assert admin.get("/api/audit/export", params={"format": "xml"}).status_code == 400


def run_as_tenant(conn: psycopg.Connection[Any], tenant_id: str, *statements: str) -> None:
    """Run `statements` in one transaction of `tenant_id` (each may use %(t)s for the tenant)."""
    with conn.transaction():
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        for statement in statements:
            conn.execute(statement, {"t": tenant_id})


def test_append_only_for_the_app_and_the_owner(ops: OpsWorld) -> None:
    admin = ops.accounts.signup()
    tid = admin.tenant_id
    refused = psycopg.errors.InsufficientPrivilege
    for connect in (ops.app_role, ops.owner):
        with connect() as conn:
            update = "UPDATE audit_log SET action = 'forged' WHERE tenant_id = %(t)s"
            with pytest.raises(refused, match="append-only"):
                run_as_tenant(conn, tid, update)
            with pytest.raises(refused, match="append-only"):
                run_as_tenant(conn, tid, "DELETE FROM audit_log WHERE tenant_id = %(t)s")
    # The flag pseudonymisation raises does not open the table to the app role's own UPDATE:
    # only the owner (inside the SECURITY DEFINER function) may change the personal columns.
    with ops.app_role() as conn, pytest.raises(refused, match="append-only"):
        run_as_tenant(
            conn,
            tid,
            "SELECT set_config('tynebase.audit_pseudonymise', 'on', true)",
            "UPDATE audit_log SET actor_label = 'x' WHERE tenant_id = %(t)s",
        )
    with ops.owner() as conn, pytest.raises(refused):
        conn.execute("TRUNCATE audit_log")
    with ops.owner() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tid,))
        count = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'forged'").fetchone()
    assert count == (0,)


def test_pseudonymisation_is_the_one_allowed_change(ops: OpsWorld) -> None:
    admin = ops.accounts.signup(tier="base")
    member = ops.accounts.member(admin, "viewer")
    with ops.app_role() as conn, conn.transaction():
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant_id,))
        changed = conn.execute(
            "SELECT audit_pseudonymise(%s, %s)", (member.user_id, member.email)
        ).fetchone()
    assert changed is not None
    assert changed[0] >= 3  # the invite (email), the acceptance and the login
    items = entries(admin, limit=200)
    text = json.dumps(items)
    assert member.email not in text
    mine = [e for e in items if e["actor_user_id"] == member.user_id]
    assert mine
    assert all(e["actor_label"].startswith("erased:") and e["ip"] is None for e in mine)
    invite = next(e for e in items if e["action"] == "invite.created")
    assert invite["details"]["email"].startswith("erased:")
    assert invite["actor_label"] == admin.email  # other people's entries keep their names


def test_platform_entries_are_invisible_to_tenants(ops: OpsWorld) -> None:
    admin = ops.accounts.signup()
    assert ops.cli("maintenance", "on").exit_code == 0
    assert ops.cli("maintenance", "off").exit_code == 0
    with ops.app_role() as conn:
        with conn.transaction():
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant_id,))
            tenants = conn.execute("SELECT DISTINCT tenant_id::text FROM audit_log").fetchall()
        assert tenants == [(admin.tenant_id,)]
        with conn.transaction():
            none = conn.execute("SELECT count(*) FROM audit_log").fetchone()
        assert none == (0,)
        # A tenant cannot write a platform entry (WITH CHECK) without asking for it.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            run_as_tenant(
                conn,
                admin.tenant_id,
                "INSERT INTO audit_log (action, actor_kind) VALUES ('forged', 'system')",
            )
    assert "maintenance.on" not in [e["action"] for e in entries(admin, limit=200)]
