"""Members and invites (SPEC TEN-3, TEN-4): roles, suspension, removal, the last admin, seat
limits by tier, and every way an invite can be refused."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import (
    PASSWORD,
    Account,
    Accounts,
    TestDatabase,
    error_code,
    latest_mail_token,
    unique,
)

Inviter = Callable[..., tuple[dict[str, Any], str]]


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert error_code(response) == code, response.text


def tenant_sql(
    owner_sql: psycopg.Connection[Any], tenant_id: str, query: str, params: tuple[Any, ...] = ()
) -> None:
    """Run `query` as the owner inside `tenant_id` (RLS is forced, even for the owner)."""
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        owner_sql.execute(query, params)


@pytest.fixture
def invite(database: TestDatabase) -> Inviter:
    """invite(admin, email=None, role="viewer") -> (the invite, its token from the outbox)."""

    def make(
        admin: Account, email: str | None = None, role: str = "viewer"
    ) -> tuple[dict[str, Any], str]:
        email = email or f"{unique('i')}@example.com"
        response = admin.post("/api/invites", json={"email": email, "role": role})
        assert response.status_code == 201, response.text
        return response.json(), latest_mail_token(database.urls.owner, email, "invited")

    return make


def accept(client: TestClient, subdomain: str, token: str, **body: Any) -> Any:
    return client.post(
        "/api/invites/accept",
        headers={"X-Tenant-Subdomain": subdomain},
        json={"token": token, **body},
    )


def login(client: TestClient, subdomain: str, email: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/api/auth/login",
        json={"email": email, "password": password},
        headers={"X-Tenant-Subdomain": subdomain},
    )


# --- members ------------------------------------------------------------------------------------


def test_list_and_get_members(accounts: Accounts, admin: Account, other_admin: Account) -> None:
    viewer = accounts.member(admin, "viewer")
    listed = viewer.get("/api/users")
    assert listed.status_code == 200, listed.text
    assert [(m["user_id"], m["role"], m["status"]) for m in listed.json()] == [
        (admin.user_id, "admin", "active"),
        (viewer.user_id, "viewer", "active"),
    ]
    assert listed.json()[1]["email"] == viewer.email

    one = admin.get(f"/api/users/{viewer.user_id}")
    assert one.status_code == 200, one.text
    assert one.json()["role"] == "viewer"
    # Someone from another workspace is simply not found here.
    for user_id in (other_admin.user_id, str(uuid.uuid4())):
        assert_error(admin.get(f"/api/users/{user_id}"), 404, "MEMBER_NOT_FOUND")
        assert_error(
            admin.request("PATCH", f"/api/users/{user_id}", json={"role": "editor"}),
            404,
            "MEMBER_NOT_FOUND",
        )
        assert_error(admin.request("DELETE", f"/api/users/{user_id}"), 404, "MEMBER_NOT_FOUND")
    assert [m["user_id"] for m in other_admin.get("/api/users").json()] == [other_admin.user_id]


def test_only_admins_manage_members(accounts: Accounts, admin: Account, invite: Inviter) -> None:
    pending, _ = invite(admin)
    for role in ("viewer", "contributor", "editor"):
        member = accounts.member(admin, role)
        attempts = [
            member.post("/api/invites", json={"email": f"{unique()}@example.com"}),
            member.get("/api/invites"),
            member.request("DELETE", f"/api/invites/{pending['id']}"),
            member.request("PATCH", f"/api/users/{member.user_id}", json={"role": "admin"}),
            member.request("PATCH", f"/api/users/{admin.user_id}", json={"status": "suspended"}),
            member.request("DELETE", f"/api/users/{admin.user_id}"),
        ]
        for response in attempts:
            assert_error(response, 403, "INSUFFICIENT_ROLE")
        assert member.get("/api/auth/me").json()["role"] == role
    assert admin.get(f"/api/users/{admin.user_id}").json()["status"] == "active"


def test_change_role(accounts: Accounts, admin: Account) -> None:
    member = accounts.member(admin, "viewer")
    changed = admin.request("PATCH", f"/api/users/{member.user_id}", json={"role": "editor"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "editor"
    # Takes effect on the member's current session.
    assert member.get("/api/auth/me").json()["role"] == "editor"

    assert_error(
        admin.request("PATCH", f"/api/users/{member.user_id}", json={"role": "owner"}),
        400,
        "VALIDATION_ERROR",
    )
    assert_error(
        admin.request("PATCH", f"/api/users/{member.user_id}", json={"status": "deleted"}),
        400,
        "VALIDATION_ERROR",
    )

    promoted = admin.request("PATCH", f"/api/users/{member.user_id}", json={"role": "admin"})
    assert promoted.json()["role"] == "admin"
    response = member.post("/api/invites", json={"email": f"{unique()}@example.com"})
    assert response.status_code == 201, response.text


def test_suspend_member(client: TestClient, accounts: Accounts, admin: Account) -> None:
    member = accounts.member(admin, "editor")
    suspended = admin.request("PATCH", f"/api/users/{member.user_id}", json={"status": "suspended"})
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"

    assert_error(member.get("/api/auth/me"), 401, "SESSION_REVOKED")
    refreshed = client.post(
        "/api/auth/refresh",
        json={"refresh_token": member.refresh_token},
        headers={"X-Tenant-Subdomain": admin.subdomain},
    )
    assert_error(refreshed, 401, "SESSION_REVOKED")
    assert_error(login(client, admin.subdomain, member.email), 403, "USER_SUSPENDED")
    assert admin.get("/api/auth/me").status_code == 200

    active = admin.request("PATCH", f"/api/users/{member.user_id}", json={"status": "active"})
    assert active.json()["status"] == "active"
    assert login(client, admin.subdomain, member.email).status_code == 200


def test_remove_member(
    client: TestClient, accounts: Accounts, admin: Account, invite: Inviter
) -> None:
    member = accounts.member(admin, "contributor")
    assert admin.request("DELETE", f"/api/users/{member.user_id}").status_code == 204
    assert_error(member.get("/api/auth/me"), 401, "SESSION_REVOKED")
    assert_error(login(client, admin.subdomain, member.email), 403, "NOT_A_MEMBER")
    assert_error(admin.get(f"/api/users/{member.user_id}"), 404, "MEMBER_NOT_FOUND")
    assert_error(admin.request("DELETE", f"/api/users/{member.user_id}"), 404, "MEMBER_NOT_FOUND")
    assert [m["user_id"] for m in admin.get("/api/users").json()] == [admin.user_id]

    # They can be invited back, as the account they already have.
    _, token = invite(admin, member.email, "viewer")
    back = accept(client, admin.subdomain, token)
    assert back.status_code == 201, back.text
    assert back.json()["user_id"] == member.user_id
    assert login(client, admin.subdomain, member.email).status_code == 200


def test_a_workspace_keeps_an_active_admin(accounts: Accounts, admin: Account) -> None:
    me = f"/api/users/{admin.user_id}"
    for change in ({"role": "editor"}, {"status": "suspended"}):
        assert_error(admin.request("PATCH", me, json=change), 409, "LAST_ADMIN")
    assert_error(admin.request("DELETE", me), 409, "LAST_ADMIN")
    assert admin.get("/api/auth/me").json()["role"] == "admin"

    second = accounts.member(admin, "admin")
    demoted = admin.request("PATCH", me, json={"role": "editor"})
    assert demoted.status_code == 200, demoted.text
    assert admin.get("/api/auth/me").json()["role"] == "editor"
    assert_error(
        second.request("PATCH", f"/api/users/{second.user_id}", json={"role": "viewer"}),
        409,
        "LAST_ADMIN",
    )
    assert_error(second.request("DELETE", f"/api/users/{second.user_id}"), 409, "LAST_ADMIN")
    # A suspended admin does not count as the one that keeps the workspace running.
    promoted = second.request("PATCH", me, json={"role": "admin", "status": "suspended"})
    assert promoted.status_code == 200, promoted.text
    assert_error(
        second.request("PATCH", f"/api/users/{second.user_id}", json={"status": "suspended"}),
        409,
        "LAST_ADMIN",
    )
    assert second.request("DELETE", me).status_code == 204


# --- invites ------------------------------------------------------------------------------------


def test_invite_and_accept_as_a_new_person(
    client: TestClient, admin: Account, invite: Inviter
) -> None:
    email = f"{unique('new')}@Example.com"
    created, token = invite(admin, email, "contributor")
    assert created["email"] == email.lower()
    assert created["role"] == "contributor"
    assert [i["id"] for i in admin.get("/api/invites").json()] == [created["id"]]
    assert token not in admin.get("/api/invites").text

    assert_error(accept(client, admin.subdomain, token), 400, "VALIDATION_ERROR")
    assert_error(
        accept(client, admin.subdomain, token, name="New", password="password1234"),
        400,
        "WEAK_PASSWORD",
    )
    # Refusals left the invite usable.
    accepted = accept(client, admin.subdomain, token, name="New Person", password=PASSWORD)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["role"] == "contributor"
    assert admin.get("/api/invites").json() == []

    joined = login(client, admin.subdomain, email)  # no confirmation: the link proved the email
    assert joined.status_code == 200, joined.text
    assert_error(
        accept(client, admin.subdomain, token, name="New", password=PASSWORD), 410, "INVITE_USED"
    )


def test_accept_as_an_existing_user_of_another_workspace(
    client: TestClient, admin: Account, other_admin: Account, invite: Inviter
) -> None:
    _, token = invite(other_admin, admin.email.upper(), "editor")
    # A password sent along is ignored: an invite never changes an existing account.
    accepted = accept(
        client,
        other_admin.subdomain,
        token,
        name="Someone Else",
        password="a-different-password-99",
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json() == {"user_id": admin.user_id, "email": admin.email, "role": "editor"}

    there = login(client, other_admin.subdomain, admin.email)
    assert there.status_code == 200, there.text
    as_editor = client.get(
        "/api/auth/me",
        headers={
            "X-Tenant-Subdomain": other_admin.subdomain,
            "Authorization": f"Bearer {there.json()['access_token']}",
        },
    )
    assert as_editor.json()["role"] == "editor"
    assert as_editor.json()["user"]["name"] == "Test Admin"
    assert_error(
        login(client, other_admin.subdomain, admin.email, "a-different-password-99"),
        401,
        "INVALID_CREDENTIALS",
    )
    # Home workspace unchanged.
    assert admin.get("/api/auth/me").json()["role"] == "admin"
    assert len(other_admin.get("/api/users").json()) == 2
    assert len(admin.get("/api/users").json()) == 1


def test_already_member(accounts: Accounts, admin: Account) -> None:
    member = accounts.member(admin, "viewer")
    for email in (admin.email, member.email.upper()):
        response = admin.post("/api/invites", json={"email": email, "role": "editor"})
        assert_error(response, 409, "ALREADY_MEMBER")


def test_invite_token_errors(
    client: TestClient,
    admin: Account,
    other_admin: Account,
    invite: Inviter,
    owner_sql: psycopg.Connection[Any],
) -> None:
    assert_error(
        accept(client, admin.subdomain, "no-such-invite", name="N", password=PASSWORD),
        404,
        "INVITE_INVALID",
    )

    _, foreign = invite(other_admin)
    # Another workspace's invite does not exist here.
    assert_error(
        accept(client, admin.subdomain, foreign, name="N", password=PASSWORD), 404, "INVITE_INVALID"
    )

    expiring, token = invite(admin)
    tenant_sql(
        owner_sql,
        admin.tenant_id,
        "UPDATE invites SET expires_at = now() - interval '1 second' WHERE id = %s",
        (expiring["id"],),
    )
    assert_error(
        accept(client, admin.subdomain, token, name="N", password=PASSWORD), 410, "INVITE_EXPIRED"
    )
    assert admin.get("/api/invites").json() == []

    revoked, token = invite(admin)
    assert admin.request("DELETE", f"/api/invites/{revoked['id']}").status_code == 204
    assert_error(admin.request("DELETE", f"/api/invites/{revoked['id']}"), 404, "INVITE_NOT_FOUND")
    assert_error(
        accept(client, admin.subdomain, token, name="N", password=PASSWORD), 410, "INVITE_USED"
    )
    for invite_id in (str(uuid.uuid4()), expiring["id"]):
        assert_error(
            other_admin.request("DELETE", f"/api/invites/{invite_id}"), 404, "INVITE_NOT_FOUND"
        )

    # Inviting the same person again replaces the pending invite.
    email = f"{unique('again')}@example.com"
    _, first = invite(admin, email)
    second_invite, second = invite(admin, email, "editor")
    assert [i["id"] for i in admin.get("/api/invites").json()] == [second_invite["id"]]
    assert_error(
        accept(client, admin.subdomain, first, name="N", password=PASSWORD), 410, "INVITE_USED"
    )
    assert accept(client, admin.subdomain, second, name="N", password=PASSWORD).json()["role"] == (
        "editor"
    )


def test_invite_validation(admin: Account) -> None:
    for body in ({"email": "not-an-email"}, {"email": "a@example.com", "role": "owner"}, {}):
        assert_error(admin.post("/api/invites", json=body), 400, "VALIDATION_ERROR")


def test_free_tier_has_one_seat(client: TestClient, accounts: Accounts) -> None:
    solo = accounts.signup(tier="free")
    response = solo.post("/api/invites", json={"email": f"{unique()}@example.com"})
    assert_error(response, 403, "SEAT_LIMIT_REACHED")
    assert response.json()["error"]["details"] == {"tier": "free", "seats": 1}
    assert solo.get("/api/invites").json() == []


def test_base_tier_seats_count_pending_invites(
    client: TestClient,
    admin: Account,
    accounts: Accounts,
    invite: Inviter,
    owner_sql: psycopg.Connection[Any],
) -> None:
    pending = [invite(admin) for _ in range(9)]  # the admin plus nine pending invites: ten seats
    refused = admin.post("/api/invites", json={"email": f"{unique()}@example.com"})
    assert_error(refused, 403, "SEAT_LIMIT_REACHED")
    assert refused.json()["error"]["details"] == {"tier": "base", "seats": 10}

    # A revoked invite frees its seat ...
    assert admin.request("DELETE", f"/api/invites/{pending[0][0]['id']}").status_code == 204
    _, token = invite(admin)
    assert_error(
        admin.post("/api/invites", json={"email": f"{unique()}@example.com"}),
        403,
        "SEAT_LIMIT_REACHED",
    )
    # ... and so does an expired one.
    tenant_sql(
        owner_sql,
        admin.tenant_id,
        "UPDATE invites SET expires_at = now() - interval '1 second' WHERE id = %s",
        (pending[1][0]["id"],),
    )
    invite(admin)

    # Accepting takes the seat the invite held; if the plan shrank meanwhile, there is none.
    accounts.set_tier(admin, "free")
    assert_error(
        accept(client, admin.subdomain, token, name="N", password=PASSWORD),
        403,
        "SEAT_LIMIT_REACHED",
    )
    accounts.set_tier(admin, "base")
    assert accept(client, admin.subdomain, token, name="N", password=PASSWORD).status_code == 201
    assert len(admin.get("/api/users").json()) == 2
