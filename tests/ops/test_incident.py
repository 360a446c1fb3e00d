"""Security response (OPS-9): sessions revoked by user, tenant or everyone, workspaces suspended,
resumed and re-tiered from the CLI; each announced to live connections and audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.conftest import Account, error_code, latest_mail_token
from tests.ops.conftest import OpsWorld
from tynebase.auth.revocation import CHANNEL, AccessChange


@pytest.fixture
def listener(ops: OpsWorld) -> Iterator[psycopg.Connection[Any]]:
    with ops.owner() as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        yield conn


def heard(conn: psycopg.Connection[Any]) -> list[AccessChange]:
    """Announcements delivered so far (NOTIFY arrives on commit, before the CLI returns)."""
    return [AccessChange.parse(n.payload) for n in conn.notifies(timeout=0.5)]


def join(ops: OpsWorld, person: Account, admin: Account) -> Account:
    """`person` (a member elsewhere) joins `admin`'s workspace and logs in there."""
    assert (
        admin.post("/api/invites", json={"email": person.email, "role": "editor"}).status_code
        == 201
    )
    token = latest_mail_token(ops.urls.owner, person.email, "invited")
    accepted = ops.client.post(
        "/api/invites/accept",
        json={"token": token},
        headers={"X-Tenant-Subdomain": admin.subdomain},
    )
    assert accepted.status_code == 201, accepted.text
    return Account(
        client=ops.client,
        email=person.email,
        password=person.password,
        user_id=person.user_id,
        tenant_id=admin.tenant_id,
        subdomain=admin.subdomain,
    ).login()


def refused(account: Account) -> str:
    response = account.get("/api/auth/me")
    assert response.status_code in (401, 403), response.text
    return error_code(response)


def test_revoke_user_everywhere(ops: OpsWorld, listener: psycopg.Connection[Any]) -> None:
    a, b = ops.accounts.signup(tier="base"), ops.accounts.signup(tier="base")
    in_b = join(ops, a, b)
    bystander = ops.accounts.member(b, "viewer")
    result = ops.cli("sessions", "revoke", "--user", a.email.upper(), "--reason", "phished")
    assert result.exit_code == 0, result.output
    assert "in 2 workspace(s)" in result.output
    assert refused(a) == "SESSION_REVOKED"
    assert refused(in_b) == "SESSION_REVOKED"
    assert bystander.get("/api/auth/me").status_code == 200
    refresh = ops.client.post(
        "/api/auth/refresh",
        json={"refresh_token": a.refresh_token},
        headers={"X-Tenant-Subdomain": a.subdomain},
    )
    assert refresh.status_code == 401
    changes = [c for c in heard(listener) if c.user_id is not None and str(c.user_id) == a.user_id]
    assert {str(c.tenant_id) for c in changes} == {a.tenant_id, b.tenant_id}
    assert all(c.reason == "phished" for c in changes)
    a.login()  # they can sign in again
    audit = b.get("/api/audit", params={"action": "auth.sessions.revoked"}).json()["items"]
    assert audit[0]["actor_kind"] == "operator"
    assert audit[0]["details"]["email"] == a.email


def test_revoke_tenant_and_all(ops: OpsWorld, listener: psycopg.Connection[Any]) -> None:
    a, b = ops.accounts.signup(tier="base"), ops.accounts.signup(tier="base")
    a_member = ops.accounts.member(a, "editor")
    assert ops.cli("sessions", "revoke", "--tenant", a.subdomain).exit_code == 0
    assert refused(a) == "SESSION_REVOKED"
    assert refused(a_member) == "SESSION_REVOKED"
    assert b.get("/api/auth/me").status_code == 200
    tenant_wide = [c for c in heard(listener) if c.user_id is None and c.session_id is None]
    assert [str(c.tenant_id) for c in tenant_wide] == [a.tenant_id]

    # --all asks first; without confirmation nothing happens.
    declined = ops.cli("sessions", "revoke", "--all", input="n\n")
    assert declined.exit_code != 0
    assert b.get("/api/auth/me").status_code == 200
    assert ops.cli("sessions", "revoke", "--all", "--yes").exit_code == 0
    assert refused(b) == "SESSION_REVOKED"
    changes = heard(listener)
    assert any(c.tenant_id is None and c.user_id is None for c in changes), changes
    everyone = AccessChange(tenant_id=None, user_id=None, session_id=None, reason="")
    assert everyone.affects(tenant_id=b.tenant_id, user_id=None, session_id=None)  # type: ignore[arg-type]

    assert ops.cli("sessions", "revoke").exit_code == 2
    unknown = ops.cli("sessions", "revoke", "--user", "nobody@example.com")
    assert unknown.exit_code == 1
    assert "USER_NOT_FOUND" in unknown.output


def test_suspend_resume_and_set_tier(ops: OpsWorld, listener: psycopg.Connection[Any]) -> None:
    admin = ops.accounts.signup()
    result = ops.cli("tenant", "suspend", admin.subdomain, "--reason", "abuse report 42")
    assert result.exit_code == 0, result.output
    assert refused(admin) == "TENANT_SUSPENDED"
    login = ops.client.post(
        "/api/auth/login",
        json={"email": admin.email, "password": admin.password},
        headers={"X-Tenant-Subdomain": admin.subdomain},
    )
    assert login.status_code == 403
    assert [str(c.tenant_id) for c in heard(listener) if c.reason == "tenant suspended"] == [
        admin.tenant_id
    ]
    listed = json.loads(ops.cli("tenant", "list", "--json").stdout)
    assert next(t for t in listed if t["subdomain"] == admin.subdomain)["status"] == "suspended"

    assert ops.cli("tenant", "resume", admin.subdomain).exit_code == 0
    assert admin.get("/api/auth/me").status_code == 200  # sessions survived the suspension

    # Free tier: one seat. Raising the tier lets the admin invite.
    invite = admin.post("/api/invites", json={"email": "seat@example.com", "role": "viewer"})
    assert error_code(invite) == "SEAT_LIMIT_REACHED"
    assert ops.cli("tenant", "set-tier", admin.subdomain, "base").exit_code == 0
    assert (
        admin.post("/api/invites", json={"email": "seat@example.com", "role": "viewer"}).status_code
        == 201
    )
    bad = ops.cli("tenant", "set-tier", admin.subdomain, "platinum")
    assert bad.exit_code == 1
    assert "VALIDATION_ERROR" in bad.output
    missing = ops.cli("tenant", "suspend", "no-such-workspace")
    assert missing.exit_code == 1
    assert "TENANT_NOT_FOUND" in missing.output

    trail = admin.get("/api/audit", params={"action": "tenant."}).json()["items"]
    assert [e["action"] for e in trail] == [
        "tenant.tier_changed",
        "tenant.resumed",
        "tenant.suspended",
    ]
    assert trail[2]["details"]["reason"] == "abuse report 42"
    assert trail[0]["details"] == {"subdomain": admin.subdomain, "before": "free", "after": "base"}
