"""API keys (SPEC AUTH-4): shown once, stored hashed, prefixed, scoped, expiring, revocable,
rotatable with overlap; and confined to their workspace and their owner's membership."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, Accounts, error_code

KEY_FORMAT = re.compile(r"^tb_([A-Za-z0-9]{10})_([A-Za-z0-9]{40})$")


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert error_code(response) == code, response.text


def tenant_sql(
    owner_sql: psycopg.Connection[Any], tenant_id: str, query: str, params: tuple[Any, ...] = ()
) -> list[Any]:
    """Run `query` as the owner inside `tenant_id` (RLS is forced, even for the owner)."""
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        cursor = owner_sql.execute(query, params)
        return cursor.fetchall() if cursor.description else []


def create_key(account: Account, scope: str = "read", **extra: Any) -> dict[str, Any]:
    response = account.post("/api/api-keys", json={"name": f"{scope} key", "scope": scope, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def with_key(
    client: TestClient,
    subdomain: str,
    key: str,
    method: str = "GET",
    path: str = "/api/auth/me",
    **kwargs: Any,
) -> Any:
    headers = {"X-Tenant-Subdomain": subdomain, "Authorization": f"Bearer {key}"}
    return client.request(method, path, headers=headers, **kwargs)


def test_create_shows_the_key_once_and_authenticates(
    client: TestClient, admin: Account, owner_sql: psycopg.Connection[Any]
) -> None:
    created = create_key(admin, "write")
    match = KEY_FORMAT.match(created["key"])
    assert match, created["key"]
    assert created["prefix"] == match.group(1)
    assert created["scope"] == "write"
    assert created["user_id"] == admin.user_id
    assert created["last_used_at"] is None
    expires_at = datetime.fromisoformat(created["expires_at"])
    assert abs(expires_at - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=5)

    listed = admin.get("/api/api-keys")
    assert listed.status_code == 200, listed.text
    assert [k["id"] for k in listed.json()] == [created["id"]]
    assert "key" not in listed.json()[0]
    assert match.group(2) not in listed.text

    # Stored as a hash only.
    rows = tenant_sql(
        owner_sql,
        admin.tenant_id,
        "SELECT key_hash, prefix FROM api_keys WHERE id = %s",
        (created["id"],),
    )
    assert rows == [(hashlib.sha256(created["key"].encode()).digest(), match.group(1))]

    me = with_key(client, admin.subdomain, created["key"])
    assert me.status_code == 200, me.text
    assert me.json()["auth"] == "api_key"
    assert me.json()["user"]["id"] == admin.user_id
    assert me.json()["role"] == "editor"  # an admin's write key acts as an editor
    assert admin.get("/api/api-keys").json()[0]["last_used_at"] is not None

    never = create_key(admin, "admin", expires_in_days=None)
    assert never["expires_at"] is None
    assert with_key(client, admin.subdomain, never["key"]).json()["role"] == "admin"


def test_create_validation(admin: Account) -> None:
    for body in (
        {"name": "x", "scope": "owner"},
        {"name": "", "scope": "read"},
        {"name": "x", "expires_in_days": 0},
        {"name": "x", "expires_in_days": 4000},
        {"scope": "read"},
    ):
        assert_error(admin.post("/api/api-keys", json=body), 400, "VALIDATION_ERROR")


def test_scopes_cap_the_role(client: TestClient, accounts: Accounts, admin: Account) -> None:
    read_key = create_key(admin, "read")["key"]
    assert with_key(client, admin.subdomain, read_key).json()["role"] == "viewer"
    invite = {"email": "someone@example.com", "role": "viewer"}
    assert_error(
        with_key(client, admin.subdomain, read_key, "POST", "/api/invites", json=invite),
        403,
        "INSUFFICIENT_ROLE",
    )
    # A read key cannot mint a stronger key, nor a stronger successor of a key.
    assert_error(
        with_key(
            client,
            admin.subdomain,
            read_key,
            "POST",
            "/api/api-keys",
            json={"name": "escalate", "scope": "admin"},
        ),
        403,
        "INSUFFICIENT_ROLE",
    )
    admin_key = create_key(admin, "admin")
    assert_error(
        with_key(
            client,
            admin.subdomain,
            read_key,
            "POST",
            f"/api/api-keys/{admin_key['id']}/rotate",
            json={},
        ),
        403,
        "INSUFFICIENT_ROLE",
    )
    assert (
        with_key(
            client, admin.subdomain, admin_key["key"], "POST", "/api/invites", json=invite
        ).status_code
        == 201
    )

    viewer = accounts.member(admin, "viewer")
    for scope in ("write", "admin"):
        assert_error(
            viewer.post("/api/api-keys", json={"name": "k", "scope": scope}),
            403,
            "INSUFFICIENT_ROLE",
        )
    viewer_key = create_key(viewer, "read")["key"]
    assert with_key(client, admin.subdomain, viewer_key).json()["role"] == "viewer"

    editor = accounts.member(admin, "editor")
    assert_error(
        editor.post("/api/api-keys", json={"name": "k", "scope": "admin"}), 403, "INSUFFICIENT_ROLE"
    )
    editor_key = create_key(editor, "write")["key"]
    assert with_key(client, admin.subdomain, editor_key).json()["role"] == "editor"


def test_revoked_expired_and_invalid_keys(
    client: TestClient, admin: Account, other_admin: Account, owner_sql: psycopg.Connection[Any]
) -> None:
    revoked = create_key(admin)
    assert admin.request("DELETE", f"/api/api-keys/{revoked['id']}").status_code == 204
    assert_error(with_key(client, admin.subdomain, revoked["key"]), 401, "API_KEY_REVOKED")
    assert revoked["id"] not in [k["id"] for k in admin.get("/api/api-keys").json()]
    assert_error(
        admin.request("DELETE", f"/api/api-keys/{revoked['id']}"), 404, "API_KEY_NOT_FOUND"
    )

    expired = create_key(admin)
    tenant_sql(
        owner_sql,
        admin.tenant_id,
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = %s",
        (expired["id"],),
    )
    assert_error(with_key(client, admin.subdomain, expired["key"]), 401, "API_KEY_EXPIRED")

    valid = create_key(admin)
    prefix = valid["prefix"]
    for garbage in (
        "tb_nope_nope",
        f"tb_{prefix}_{'x' * 40}",
        "tb_",
        f"tb_{prefix}",
        valid["key"] + "x",
        f"tb_{prefix}_{'a' * 20}_{'b' * 20}",
    ):
        assert_error(with_key(client, admin.subdomain, garbage), 401, "INVALID_API_KEY")
    # A key only exists in its own workspace.
    assert_error(with_key(client, other_admin.subdomain, valid["key"]), 401, "INVALID_API_KEY")
    assert with_key(client, admin.subdomain, valid["key"]).status_code == 200


def test_rotate_with_overlap(
    client: TestClient, admin: Account, owner_sql: psycopg.Connection[Any]
) -> None:
    old = create_key(admin, "write", expires_in_days=30)
    rotated = admin.post(f"/api/api-keys/{old['id']}/rotate", json={"overlap_hours": 2})
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert KEY_FORMAT.match(new["key"])
    assert new["key"] != old["key"]
    assert new["id"] != old["id"]
    assert (new["name"], new["scope"], new["expires_at"]) == (
        old["name"],
        old["scope"],
        old["expires_at"],
    )

    listed = {k["id"]: k for k in admin.get("/api/api-keys").json()}
    old_end = datetime.fromisoformat(listed[old["id"]]["expires_at"])
    assert abs(old_end - (datetime.now(UTC) + timedelta(hours=2))) < timedelta(minutes=5)
    for key in (old["key"], new["key"]):
        assert with_key(client, admin.subdomain, key).status_code == 200

    tenant_sql(
        owner_sql,
        admin.tenant_id,
        "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = %s",
        (old["id"],),
    )
    assert_error(with_key(client, admin.subdomain, old["key"]), 401, "API_KEY_EXPIRED")
    assert with_key(client, admin.subdomain, new["key"]).status_code == 200

    # Without overlap the old key stops at once.
    immediate = admin.post(f"/api/api-keys/{new['id']}/rotate", json={"overlap_hours": 0})
    assert immediate.status_code == 201, immediate.text
    assert_error(with_key(client, admin.subdomain, new["key"]), 401, "API_KEY_EXPIRED")
    assert with_key(client, admin.subdomain, immediate.json()["key"]).status_code == 200
    assert_error(
        admin.post(f"/api/api-keys/{new['id']}/rotate", json={"overlap_hours": -1}),
        400,
        "VALIDATION_ERROR",
    )


def test_keys_of_others(
    client: TestClient, accounts: Accounts, admin: Account, other_admin: Account
) -> None:
    admin_key = create_key(admin)
    editor = accounts.member(admin, "editor")
    editor_key = create_key(editor)

    assert [k["id"] for k in editor.get("/api/api-keys").json()] == [editor_key["id"]]
    assert {k["id"] for k in admin.get("/api/api-keys").json()} == {
        admin_key["id"],
        editor_key["id"],
    }
    for method, path in (
        ("DELETE", f"/api/api-keys/{admin_key['id']}"),
        ("POST", f"/api/api-keys/{admin_key['id']}/rotate"),
    ):
        assert_error(editor.request(method, path, json={}), 404, "API_KEY_NOT_FOUND")
    # Another workspace's admin cannot see it either.
    assert_error(
        other_admin.request("DELETE", f"/api/api-keys/{admin_key['id']}"), 404, "API_KEY_NOT_FOUND"
    )
    assert admin_key["id"] not in [k["id"] for k in other_admin.get("/api/api-keys").json()]
    assert_error(admin.request("DELETE", f"/api/api-keys/{uuid.uuid4()}"), 404, "API_KEY_NOT_FOUND")
    assert with_key(client, admin.subdomain, admin_key["key"]).status_code == 200

    # A workspace admin may revoke a member's key.
    assert admin.request("DELETE", f"/api/api-keys/{editor_key['id']}").status_code == 204
    assert_error(with_key(client, admin.subdomain, editor_key["key"]), 401, "API_KEY_REVOKED")


@pytest.mark.parametrize("change", ["suspend", "remove"])
def test_a_key_does_not_outlive_its_membership(
    client: TestClient, accounts: Accounts, admin: Account, change: str
) -> None:
    editor = accounts.member(admin, "editor")
    key = create_key(editor, "write")["key"]
    if change == "suspend":
        response = admin.request(
            "PATCH", f"/api/users/{editor.user_id}", json={"status": "suspended"}
        )
        assert response.status_code == 200, response.text
        assert_error(with_key(client, admin.subdomain, key), 403, "USER_SUSPENDED")
    else:
        assert admin.request("DELETE", f"/api/users/{editor.user_id}").status_code == 204
        assert_error(with_key(client, admin.subdomain, key), 403, "NOT_A_MEMBER")


def test_keys_stop_in_a_suspended_workspace(
    client: TestClient, admin: Account, owner_sql: psycopg.Connection[Any]
) -> None:
    key = create_key(admin)["key"]
    owner_sql.execute("UPDATE tenants SET status = 'suspended' WHERE id = %s", (admin.tenant_id,))
    assert_error(with_key(client, admin.subdomain, key), 403, "TENANT_SUSPENDED")
