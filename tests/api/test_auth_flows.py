"""Signup, email confirmation, login and lockout, token refresh, sessions, access-token errors,
tenant and user suspension, password reset and signing-key rotation (SPEC TEN-1, AUTH-1..5).

Time is moved through the database (expires_at, locked_until, retires_at), never slept on.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import jwt
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import (
    PASSWORD,
    TEMPLATE_DB,
    Account,
    Accounts,
    TestDatabase,
    error_code,
    latest_mail_token,
    make_settings,
    unique,
)
from tynebase.api.app import create_app
from tynebase.auth import passwords
from tynebase.auth.signing import _fernet, rotate_signing_key
from tynebase.db.engine import DatabaseUrls, libpq_url
from tynebase.settings import Settings

NEW_PASSWORD = "quiet-harbour-lantern-57"


def signup_body(**overrides: Any) -> dict[str, Any]:
    subdomain = unique("w")
    body = {
        "email": f"{unique('u')}@example.com",
        "password": PASSWORD,
        "name": "New Person",
        "tenant_name": f"Workspace {subdomain}",
        "subdomain": subdomain,
    }
    body.update(overrides)
    return body


def tenant_header(subdomain: str) -> dict[str, str]:
    return {"X-Tenant-Subdomain": subdomain}


def login(client: TestClient, subdomain: str, email: str, password: str) -> Any:
    return client.post(
        "/api/auth/login",
        json={"email": email, "password": password},
        headers=tenant_header(subdomain),
    )


def refresh(client: TestClient, subdomain: str, refresh_token: str) -> Any:
    return client.post(
        "/api/auth/refresh", json={"refresh_token": refresh_token}, headers=tenant_header(subdomain)
    )


def me(client: TestClient, subdomain: str, access_token: str) -> Any:
    return client.get(
        "/api/auth/me",
        headers={**tenant_header(subdomain), "Authorization": f"Bearer {access_token}"},
    )


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert error_code(response) == code, response.text


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def forge_access_token(
    owner_sql: psycopg.Connection[Any], settings: Settings, genuine: str, **overrides: Any
) -> str:
    """Re-sign `genuine`'s claims (with `overrides`) with the signing key that signed it."""
    kid = jwt.get_unverified_header(genuine)["kid"]
    row = owner_sql.execute(
        "SELECT secret_encrypted FROM signing_keys WHERE kid = %s", (kid,)
    ).fetchone()
    assert row is not None
    key = _fernet(settings.secret).decrypt(bytes(row[0]))
    claims = {**claims_of(genuine), **overrides}
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})


# --- signup -------------------------------------------------------------------------------------


def test_signup_validation_errors_use_the_envelope(client: TestClient) -> None:
    secret = "never-echo-this-password-77"
    cases = [
        signup_body(email="not-an-email", password=secret),
        signup_body(subdomain="ab"),
        signup_body(subdomain="Upper_Case"),
        signup_body(subdomain="-leading-dash"),
        signup_body(subdomain="x" * 64),
        signup_body(name="   "),
        {k: v for k, v in signup_body().items() if k != "tenant_name"},
        signup_body(password=""),
    ]
    for body in cases:
        response = client.post("/api/auth/signup", json=body)
        assert_error(response, 400, "VALIDATION_ERROR")
        assert response.json()["error"]["details"]["fields"], response.text
        assert response.headers["X-Request-ID"]
        assert secret not in response.text
    not_json = client.post(
        "/api/auth/signup", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(not_json, 400, "VALIDATION_ERROR")


def test_signup_refuses_short_and_common_passwords(client: TestClient) -> None:
    short = client.post("/api/auth/signup", json=signup_body(password="Sh0rt-pass"))
    assert_error(short, 400, "WEAK_PASSWORD")
    assert short.json()["error"]["details"]["min_length"] == 12
    for weak in ("password1234", "qwertyuiopasdf", "aaaaaaaaaaaaaaaa"):
        response = client.post("/api/auth/signup", json=signup_body(password=weak))
        assert_error(response, 400, "WEAK_PASSWORD")
    body = signup_body()
    derived = client.post(
        "/api/auth/signup", json={**body, "password": body["email"].split("@")[0] + "1"}
    )
    assert_error(derived, 400, "WEAK_PASSWORD")


def test_signup_conflicts_and_reserved_subdomains(
    client: TestClient, admin: Account, owner_sql: psycopg.Connection[Any]
) -> None:
    taken_email = client.post("/api/auth/signup", json=signup_body(email=admin.email.upper()))
    assert_error(taken_email, 409, "EMAIL_TAKEN")

    fresh = signup_body(subdomain=admin.subdomain)
    taken_subdomain = client.post("/api/auth/signup", json=fresh)
    assert_error(taken_subdomain, 409, "SUBDOMAIN_TAKEN")
    # The refused signup left nothing behind: the same email can sign up afterwards.
    assert owner_sql.execute(
        "SELECT count(*) FROM users WHERE email = %s", (fresh["email"],)
    ).fetchone() == (0,)

    for reserved in ("admin", "www", "api"):
        response = client.post("/api/auth/signup", json=signup_body(subdomain=reserved))
        assert_error(response, 409, "SUBDOMAIN_TAKEN")


# --- email confirmation -------------------------------------------------------------------------


def test_signup_then_confirm_through_the_outbox(client: TestClient, database: TestDatabase) -> None:
    body = signup_body()
    created = client.post("/api/auth/signup", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["email_confirmation_required"] is True
    assert created.json()["tenant"]["subdomain"] == body["subdomain"]
    assert created.json()["tenant"]["tier"] == "free"
    email, subdomain = body["email"], body["subdomain"]

    assert_error(login(client, subdomain, email, PASSWORD), 403, "EMAIL_NOT_CONFIRMED")
    # A wrong password is still just wrong: being unconfirmed is only said to the owner.
    assert_error(
        login(client, subdomain, email, "wrong-password-for-this"), 401, "INVALID_CREDENTIALS"
    )

    assert_error(
        client.post("/api/auth/confirm", json={"token": "no-such-token"}),
        400,
        "EMAIL_TOKEN_INVALID",
    )
    first = latest_mail_token(database.urls.owner, email, "Confirm")
    resent = client.post("/api/auth/confirm/resend", json={"email": email})
    assert resent.status_code == 202, resent.text
    second = latest_mail_token(database.urls.owner, email, "Confirm")
    assert second != first

    confirmed = client.post("/api/auth/confirm", json={"token": second})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {"status": "confirmed"}
    assert_error(client.post("/api/auth/confirm", json={"token": second}), 400, "EMAIL_TOKEN_USED")
    # One use spends every open token of that purpose.
    assert_error(client.post("/api/auth/confirm", json={"token": first}), 400, "EMAIL_TOKEN_USED")

    assert login(client, subdomain, email, PASSWORD).status_code == 200
    unknown = client.post("/api/auth/confirm/resend", json={"email": f"{unique()}@example.com"})
    assert unknown.status_code == 202
    assert unknown.json() == resent.json()


def test_expired_confirmation_token(
    client: TestClient,
    accounts: Accounts,
    database: TestDatabase,
    owner_sql: psycopg.Connection[Any],
) -> None:
    account = accounts.signup(confirm=False)
    token = latest_mail_token(database.urls.owner, account.email, "Confirm")
    owner_sql.execute(
        "UPDATE email_tokens SET expires_at = now() - interval '1 minute' WHERE user_id = %s",
        (account.user_id,),
    )
    assert_error(
        client.post("/api/auth/confirm", json={"token": token}), 400, "EMAIL_TOKEN_EXPIRED"
    )
    assert_error(
        login(client, account.subdomain, account.email, PASSWORD), 403, "EMAIL_NOT_CONFIRMED"
    )
    # A fresh link works.
    assert client.post("/api/auth/confirm/resend", json={"email": account.email}).status_code == 202
    fresh = latest_mail_token(database.urls.owner, account.email, "Confirm")
    assert client.post("/api/auth/confirm", json={"token": fresh}).status_code == 200


# --- login and lockout --------------------------------------------------------------------------


def test_wrong_password_and_unknown_email_answer_alike(client: TestClient, admin: Account) -> None:
    wrong_password = login(client, admin.subdomain, admin.email, "not-the-right-one-42")
    unknown_email = login(
        client, admin.subdomain, f"{unique()}@example.com", "not-the-right-one-42"
    )
    for response in (wrong_password, unknown_email):
        assert_error(response, 401, "INVALID_CREDENTIALS")
    assert wrong_password.json() == unknown_email.json()
    assert "retry-after" not in wrong_password.headers


def test_login_email_is_case_insensitive(client: TestClient, admin: Account) -> None:
    response = login(client, admin.subdomain, admin.email.upper(), admin.password)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 15 * 60
    assert claims_of(body["access_token"])["sid"] == body["session_id"]


def test_login_moves_the_stored_hash_to_a_new_cost(
    client: TestClient, admin: Account, owner_sql: psycopg.Connection[Any], settings: Settings
) -> None:
    def stored() -> str:
        row = owner_sql.execute(
            "SELECT password_hash FROM users WHERE id = %s", (admin.user_id,)
        ).fetchone()
        assert row is not None
        return str(row[0])

    assert stored().startswith("$argon2id$v=19$m=256,t=1,p=1$")  # the suite's cost
    raised = settings.model_copy(update={"argon2_memory_kib": 512, "argon2_time_cost": 2})
    passwords.configure_hashing(raised)  # as a restart with new TYNEBASE_ARGON2_* would
    try:
        wrong = login(client, admin.subdomain, admin.email, admin.password + "x")
        assert wrong.status_code == 401
        assert stored().startswith("$argon2id$v=19$m=256,t=1,p=1$")  # only a right password
        assert login(client, admin.subdomain, admin.email, admin.password).status_code == 200
        assert stored().startswith("$argon2id$v=19$m=512,t=2,p=1$")
    finally:
        passwords.configure_hashing(settings)
    assert login(client, admin.subdomain, admin.email, admin.password).status_code == 200
    assert stored().startswith("$argon2id$v=19$m=256,t=1,p=1$")


def test_login_into_a_workspace_one_is_not_a_member_of(
    client: TestClient, admin: Account, other_admin: Account
) -> None:
    response = login(client, other_admin.subdomain, admin.email, admin.password)
    assert_error(response, 403, "NOT_A_MEMBER")


def test_lockout_after_five_failures_then_expiry(
    client: TestClient, accounts: Accounts, owner_sql: psycopg.Connection[Any]
) -> None:
    account = accounts.signup(login=False)
    for _ in range(5):
        assert_error(
            login(client, account.subdomain, account.email, "wrong-password-guess"),
            401,
            "INVALID_CREDENTIALS",
        )
    for password in (account.password, "wrong-password-guess"):
        locked = login(client, account.subdomain, account.email, password)
        assert_error(locked, 429, "ACCOUNT_LOCKED")
        retry_after = int(locked.headers["Retry-After"])
        assert 0 < retry_after <= 15 * 60 + 1
        assert locked.json()["error"]["details"]["retry_after"] == retry_after

    owner_sql.execute(
        "UPDATE users SET locked_until = now() - interval '1 second' WHERE id = %s",
        (account.user_id,),
    )
    assert login(client, account.subdomain, account.email, account.password).status_code == 200
    # A successful login clears the count.
    row = owner_sql.execute(
        "SELECT failed_logins, locked_until FROM users WHERE id = %s", (account.user_id,)
    ).fetchone()
    assert row == (0, None)


def test_failures_outside_the_window_start_a_new_count(
    client: TestClient, accounts: Accounts, owner_sql: psycopg.Connection[Any]
) -> None:
    account = accounts.signup(login=False)
    owner_sql.execute(
        "UPDATE users SET failed_logins = 4, "
        "first_failed_login_at = now() - interval '16 minutes' WHERE id = %s",
        (account.user_id,),
    )
    assert_error(
        login(client, account.subdomain, account.email, "wrong-password-guess"),
        401,
        "INVALID_CREDENTIALS",
    )
    row = owner_sql.execute(
        "SELECT failed_logins, locked_until FROM users WHERE id = %s", (account.user_id,)
    ).fetchone()
    assert row == (1, None)
    assert login(client, account.subdomain, account.email, account.password).status_code == 200


# --- refresh, logout, sessions ------------------------------------------------------------------


def test_refresh_rotates_and_reuse_revokes_the_session(client: TestClient, admin: Account) -> None:
    first = refresh(client, admin.subdomain, admin.refresh_token)
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert tokens["refresh_token"] != admin.refresh_token
    assert tokens["session_id"] == claims_of(admin.access_token)["sid"]
    assert me(client, admin.subdomain, tokens["access_token"]).status_code == 200

    second = refresh(client, admin.subdomain, tokens["refresh_token"])
    assert second.status_code == 200, second.text
    newest = second.json()

    # The first refresh token is presented again: it leaked, so the whole session goes.
    assert_error(refresh(client, admin.subdomain, admin.refresh_token), 401, "REFRESH_TOKEN_REUSED")
    for access in (newest["access_token"], tokens["access_token"], admin.access_token):
        assert_error(me(client, admin.subdomain, access), 401, "SESSION_REVOKED")
    assert_error(refresh(client, admin.subdomain, newest["refresh_token"]), 401, "SESSION_REVOKED")

    # Other sessions of the same user are untouched.
    again = admin.login()
    assert again.get("/api/auth/me").status_code == 200


def test_expired_session(
    client: TestClient, admin: Account, owner_sql: psycopg.Connection[Any]
) -> None:
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant_id,))
        owner_sql.execute(
            "UPDATE auth_sessions SET expires_at = now() - interval '1 second' WHERE user_id = %s",
            (admin.user_id,),
        )
    assert_error(admin.get("/api/auth/me"), 401, "SESSION_EXPIRED")
    assert_error(refresh(client, admin.subdomain, admin.refresh_token), 401, "SESSION_EXPIRED")
    assert admin.login().get("/api/auth/me").status_code == 200


def test_invalid_refresh_tokens(client: TestClient, admin: Account, other_admin: Account) -> None:
    assert_error(
        refresh(client, admin.subdomain, "not-a-refresh-token"), 401, "INVALID_REFRESH_TOKEN"
    )
    assert_error(refresh(client, admin.subdomain, ""), 400, "VALIDATION_ERROR")
    # Another workspace's refresh token does not exist here.
    assert_error(
        refresh(client, admin.subdomain, other_admin.refresh_token), 401, "INVALID_REFRESH_TOKEN"
    )
    assert refresh(client, other_admin.subdomain, other_admin.refresh_token).status_code == 200


def test_logout_revokes_the_session(client: TestClient, admin: Account) -> None:
    response = admin.post("/api/auth/logout")
    assert response.status_code == 204, response.text
    assert_error(admin.get("/api/auth/me"), 401, "SESSION_REVOKED")
    assert_error(refresh(client, admin.subdomain, admin.refresh_token), 401, "SESSION_REVOKED")
    assert_error(admin.post("/api/auth/logout"), 401, "SESSION_REVOKED")


def test_list_and_revoke_own_sessions(
    client: TestClient, accounts: Accounts, admin: Account, other_admin: Account
) -> None:
    laptop = admin
    phone = Account(
        client=client,
        email=admin.email,
        password=admin.password,
        user_id=admin.user_id,
        tenant_id=admin.tenant_id,
        subdomain=admin.subdomain,
    ).login()
    listed = laptop.get("/api/auth/sessions")
    assert listed.status_code == 200, listed.text
    sessions = {s["id"]: s for s in listed.json()}
    laptop_sid = claims_of(laptop.access_token)["sid"]
    phone_sid = claims_of(phone.access_token)["sid"]
    assert set(sessions) == {laptop_sid, phone_sid}
    assert sessions[laptop_sid]["current"] is True
    assert sessions[phone_sid]["current"] is False
    assert sessions[phone_sid]["user_agent"] == "testclient"

    assert laptop.request("DELETE", f"/api/auth/sessions/{phone_sid}").status_code == 204
    assert_error(phone.get("/api/auth/me"), 401, "SESSION_REVOKED")
    assert [s["id"] for s in laptop.get("/api/auth/sessions").json()] == [laptop_sid]

    # Someone else's session (same workspace or another) is "not found", not "forbidden".
    colleague = accounts.member(admin, "editor")
    colleague_sid = claims_of(colleague.access_token)["sid"]
    foreign_sid = claims_of(other_admin.access_token)["sid"]
    for sid in (colleague_sid, foreign_sid, str(uuid.uuid4())):
        response = laptop.request("DELETE", f"/api/auth/sessions/{sid}")
        assert_error(response, 404, "SESSION_NOT_FOUND")
    # Revoking one's own, already revoked session again is harmless (DELETE is idempotent).
    assert laptop.request("DELETE", f"/api/auth/sessions/{phone_sid}").status_code == 204
    assert colleague.get("/api/auth/me").status_code == 200
    assert other_admin.get("/api/auth/me").status_code == 200
    assert_error(laptop.request("DELETE", "/api/auth/sessions/not-a-uuid"), 400, "VALIDATION_ERROR")


# --- access tokens ------------------------------------------------------------------------------


def test_access_token_errors(
    client: TestClient,
    admin: Account,
    other_admin: Account,
    settings: Settings,
    owner_sql: psycopg.Connection[Any],
) -> None:
    sub = tenant_header(admin.subdomain)
    assert_error(client.get("/api/auth/me", headers=sub), 401, "UNAUTHENTICATED")
    assert_error(
        client.get("/api/auth/me", headers={**sub, "Authorization": "Basic eDp5"}),
        401,
        "UNAUTHENTICATED",
    )
    assert_error(me(client, admin.subdomain, "garbage"), 401, "INVALID_TOKEN")

    header, payload, signature = admin.access_token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert_error(me(client, admin.subdomain, f"{header}.{payload}.{flipped}"), 401, "INVALID_TOKEN")
    other_payload = other_admin.access_token.split(".")[1]
    assert_error(
        me(client, admin.subdomain, f"{header}.{other_payload}.{signature}"), 401, "INVALID_TOKEN"
    )
    wrong_key = jwt.encode(
        claims_of(admin.access_token),
        "not-the-key-" * 4,
        algorithm="HS256",
        headers=jwt.get_unverified_header(admin.access_token),
    )
    assert_error(me(client, admin.subdomain, wrong_key), 401, "INVALID_TOKEN")
    unknown_kid = jwt.encode(
        claims_of(admin.access_token),
        "not-the-key-" * 4,
        algorithm="HS256",
        headers={"kid": "k-unknown"},
    )
    assert_error(me(client, admin.subdomain, unknown_kid), 401, "INVALID_TOKEN")

    # Forged with the real key: the same claims pass, so the failures below are about the claims.
    assert (
        me(
            client, admin.subdomain, forge_access_token(owner_sql, settings, admin.access_token)
        ).status_code
        == 200
    )
    now = int(time.time())
    expired = forge_access_token(
        owner_sql, settings, admin.access_token, iat=now - 3600, exp=now - 120
    )
    assert_error(me(client, admin.subdomain, expired), 401, "TOKEN_EXPIRED")
    not_access = forge_access_token(owner_sql, settings, admin.access_token, typ="refresh")
    assert_error(me(client, admin.subdomain, not_access), 401, "INVALID_TOKEN")
    bad_subject = forge_access_token(owner_sql, settings, admin.access_token, sub="nobody")
    assert_error(me(client, admin.subdomain, bad_subject), 401, "INVALID_TOKEN")
    other_session = forge_access_token(
        owner_sql, settings, admin.access_token, sid=str(uuid.uuid4())
    )
    assert_error(me(client, admin.subdomain, other_session), 401, "SESSION_REVOKED")

    # A valid token of workspace A sent to workspace B.
    assert_error(me(client, other_admin.subdomain, admin.access_token), 401, "INVALID_TOKEN")
    assert admin.get("/api/auth/me").status_code == 200


def test_tenant_resolution(client: TestClient, admin: Account) -> None:
    auth = {"Authorization": f"Bearer {admin.access_token}"}
    missing = client.get("/api/auth/me", headers=auth)
    assert_error(missing, 404, "TENANT_NOT_FOUND")
    unknown = client.get("/api/auth/me", headers={**auth, **tenant_header(unique("nope"))})
    assert_error(unknown, 404, "TENANT_NOT_FOUND")
    assert_error(
        login(client, unique("nope"), admin.email, admin.password), 404, "TENANT_NOT_FOUND"
    )
    no_tenant_login = client.post(
        "/api/auth/login", json={"email": admin.email, "password": admin.password}
    )
    assert_error(no_tenant_login, 404, "TENANT_NOT_FOUND")

    by_host = client.get("/api/auth/me", headers={**auth, "Host": f"{admin.subdomain}.localhost"})
    assert by_host.status_code == 200, by_host.text
    assert by_host.json()["tenant"]["id"] == admin.tenant_id
    upper = client.get("/api/auth/me", headers={**auth, **tenant_header(admin.subdomain.upper())})
    assert upper.status_code == 200, upper.text


def test_suspended_tenant(
    client: TestClient, admin: Account, other_admin: Account, owner_sql: psycopg.Connection[Any]
) -> None:
    owner_sql.execute("UPDATE tenants SET status = 'suspended' WHERE id = %s", (admin.tenant_id,))
    assert_error(
        login(client, admin.subdomain, admin.email, admin.password), 403, "TENANT_SUSPENDED"
    )
    assert_error(admin.get("/api/auth/me"), 403, "TENANT_SUSPENDED")
    assert_error(refresh(client, admin.subdomain, admin.refresh_token), 403, "TENANT_SUSPENDED")
    assert other_admin.get("/api/auth/me").status_code == 200

    owner_sql.execute("UPDATE tenants SET status = 'active' WHERE id = %s", (admin.tenant_id,))
    assert admin.get("/api/auth/me").status_code == 200


def test_suspended_user(
    client: TestClient, admin: Account, owner_sql: psycopg.Connection[Any]
) -> None:
    owner_sql.execute("UPDATE users SET status = 'suspended' WHERE id = %s", (admin.user_id,))
    assert_error(admin.get("/api/auth/me"), 403, "USER_SUSPENDED")
    assert_error(login(client, admin.subdomain, admin.email, admin.password), 403, "USER_SUSPENDED")
    assert_error(
        login(client, admin.subdomain, admin.email, "wrong-password-guess"),
        401,
        "INVALID_CREDENTIALS",
    )
    assert_error(refresh(client, admin.subdomain, admin.refresh_token), 403, "USER_SUSPENDED")

    owner_sql.execute("UPDATE users SET status = 'active' WHERE id = %s", (admin.user_id,))
    assert admin.get("/api/auth/me").status_code == 200


# --- password reset -----------------------------------------------------------------------------


def test_forgot_and_reset_password(
    client: TestClient,
    admin: Account,
    other_admin: Account,
    database: TestDatabase,
    owner_sql: psycopg.Connection[Any],
) -> None:
    # The admin also belongs to a second workspace, with a session there.
    invite = other_admin.post("/api/invites", json={"email": admin.email, "role": "viewer"})
    assert invite.status_code == 201, invite.text
    invite_token = latest_mail_token(database.urls.owner, admin.email, "invited")
    accepted = client.post(
        "/api/invites/accept",
        headers=tenant_header(other_admin.subdomain),
        json={"token": invite_token},
    )
    assert accepted.status_code == 201, accepted.text
    elsewhere = Account(
        client=client,
        email=admin.email,
        password=admin.password,
        user_id=admin.user_id,
        tenant_id=other_admin.tenant_id,
        subdomain=other_admin.subdomain,
    ).login()

    unknown = client.post("/api/auth/password/forgot", json={"email": f"{unique()}@example.com"})
    known = client.post("/api/auth/password/forgot", json={"email": admin.email})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    token = latest_mail_token(database.urls.owner, admin.email, "Reset")

    weak = client.post(
        "/api/auth/password/reset", json={"token": token, "password": "password1234"}
    )
    assert_error(weak, 400, "WEAK_PASSWORD")
    assert admin.get("/api/auth/me").status_code == 200  # nothing changed
    # The reset token is not a confirmation token.
    assert_error(
        client.post("/api/auth/confirm", json={"token": token}), 400, "EMAIL_TOKEN_INVALID"
    )

    reset = client.post("/api/auth/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert reset.status_code == 200, reset.text
    assert_error(
        client.post("/api/auth/password/reset", json={"token": token, "password": NEW_PASSWORD}),
        400,
        "EMAIL_TOKEN_USED",
    )

    # Every session, in every workspace, is signed out.
    assert_error(admin.get("/api/auth/me"), 401, "SESSION_REVOKED")
    assert_error(elsewhere.get("/api/auth/me"), 401, "SESSION_REVOKED")
    assert_error(refresh(client, admin.subdomain, admin.refresh_token), 401, "SESSION_REVOKED")
    assert_error(login(client, admin.subdomain, admin.email, PASSWORD), 401, "INVALID_CREDENTIALS")
    assert login(client, admin.subdomain, admin.email, NEW_PASSWORD).status_code == 200
    assert login(client, other_admin.subdomain, admin.email, NEW_PASSWORD).status_code == 200

    assert client.post("/api/auth/password/forgot", json={"email": admin.email}).status_code == 202
    stale = latest_mail_token(database.urls.owner, admin.email, "Reset")
    owner_sql.execute(
        "UPDATE email_tokens SET expires_at = now() - interval '1 second' "
        "WHERE user_id = %s AND purpose = 'reset' AND used_at IS NULL",
        (admin.user_id,),
    )
    assert_error(
        client.post("/api/auth/password/reset", json={"token": stale, "password": PASSWORD}),
        400,
        "EMAIL_TOKEN_EXPIRED",
    )
    assert_error(
        client.post(
            "/api/auth/password/reset", json={"token": "never-issued", "password": PASSWORD}
        ),
        400,
        "EMAIL_TOKEN_INVALID",
    )


def test_reset_lifts_a_lockout(
    client: TestClient,
    accounts: Accounts,
    database: TestDatabase,
    owner_sql: psycopg.Connection[Any],
) -> None:
    account = accounts.signup(login=False)
    owner_sql.execute(
        "UPDATE users SET failed_logins = 5, first_failed_login_at = now(), "
        "locked_until = now() + interval '15 minutes' WHERE id = %s",
        (account.user_id,),
    )
    assert_error(
        login(client, account.subdomain, account.email, account.password), 429, "ACCOUNT_LOCKED"
    )
    forgot = client.post("/api/auth/password/forgot", json={"email": account.email})
    assert forgot.status_code == 202
    token = latest_mail_token(database.urls.owner, account.email, "Reset")
    reset = client.post("/api/auth/password/reset", json={"token": token, "password": NEW_PASSWORD})
    assert reset.status_code == 200, reset.text
    assert login(client, account.subdomain, account.email, NEW_PASSWORD).status_code == 200


# --- signing keys -------------------------------------------------------------------------------


@pytest.fixture
def fresh_database(database: TestDatabase, settings: Settings) -> Iterator[DatabaseUrls]:
    """A private copy of the migrated template: key rotation here cannot disturb other tests."""
    name = unique("tbkeys")
    owner = database.create_database(name, template=TEMPLATE_DB)
    try:
        yield DatabaseUrls(owner=owner, app=settings.app_url_from(owner))
    finally:
        with psycopg.connect(database.server.superuser_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def rotate_keys(owner_url: str, settings: Settings, *, overlap: timedelta) -> str:
    """What an operator's rotation does, from outside the running app."""

    async def run() -> str:
        engine = create_async_engine(owner_url)
        try:
            async with engine.begin() as conn:
                return await rotate_signing_key(
                    conn, master_secret=settings.secret, overlap=overlap
                )
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_signing_key_rotation_with_overlap(
    database: TestDatabase, settings: Settings, fresh_database: DatabaseUrls
) -> None:
    urls = fresh_database
    app_settings = make_settings(database.base_dir, urls.owner)
    # Reloads its keys on every use, like a process whose refresh interval has passed.
    eager_settings = make_settings(database.base_dir, urls.owner, signing_key_refresh_seconds=0.001)

    def kid(token: str) -> str:
        value: str = jwt.get_unverified_header(token)["kid"]
        return value

    with TestClient(create_app(app_settings, urls), raise_server_exceptions=False) as first:
        account = Accounts(first, urls.owner).signup()
        old_token, old_kid = account.access_token, kid(account.access_token)

        new_kid = rotate_keys(urls.owner, settings, overlap=timedelta(hours=1))
        assert new_kid != old_kid

        with TestClient(create_app(eager_settings, urls), raise_server_exceptions=False) as second:
            # A process started after the rotation signs with the new key ...
            new_token = login(second, account.subdomain, account.email, PASSWORD).json()
            assert kid(new_token["access_token"]) == new_kid
            # ... and still accepts tokens signed with the retired one during the overlap.
            assert me(second, account.subdomain, old_token).status_code == 200

            # The first process meets an unknown kid, reloads, and accepts it.
            assert me(first, account.subdomain, new_token["access_token"]).status_code == 200
            assert me(first, account.subdomain, old_token).status_code == 200
            # From then on it signs with the new key too.
            again = login(first, account.subdomain, account.email, PASSWORD).json()
            assert kid(again["access_token"]) == new_kid

            # End the overlap: tokens of the retired key stop verifying once keys are reloaded.
            with psycopg.connect(libpq_url(urls.owner), autocommit=True) as conn:
                conn.execute(
                    "UPDATE signing_keys SET retires_at = now() - interval '1 second' "
                    "WHERE kid = %s",
                    (old_kid,),
                )
            assert_error(me(second, account.subdomain, old_token), 401, "INVALID_TOKEN")
            assert me(second, account.subdomain, new_token["access_token"]).status_code == 200
