from __future__ import annotations

from tests.conftest import Account, Accounts, error_code


def test_signup_confirm_login_me(admin: Account) -> None:
    response = admin.get("/api/auth/me")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["email"] == admin.email
    assert body["tenant"]["subdomain"] == admin.subdomain
    assert body["role"] == "admin"
    assert body["auth"] == "session"
    assert response.headers["X-Request-ID"]


def test_member_of_other_role(accounts: Accounts, admin: Account) -> None:
    viewer = accounts.member(admin, "viewer")
    assert viewer.get("/api/auth/me").json()["role"] == "viewer"
    response = viewer.post("/api/invites", json={"email": "x@example.com", "role": "viewer"})
    assert response.status_code == 403
    assert error_code(response) == "INSUFFICIENT_ROLE"


def test_tenant_from_host_name(admin: Account) -> None:
    response = admin.client.get(
        "/api/auth/me",
        headers={
            "Host": f"{admin.subdomain}.localhost",
            "Authorization": f"Bearer {admin.access_token}",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["tenant"]["subdomain"] == admin.subdomain


def test_no_tenant_given(admin: Account) -> None:
    response = admin.client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {admin.access_token}"}
    )
    assert response.status_code == 404
    assert error_code(response) == "TENANT_NOT_FOUND"
