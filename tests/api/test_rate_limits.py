"""Rate limits (SPEC AUTH-5): per IP on the auth routes, per tenant on the API; 429 RATE_LIMITED
with Retry-After and X-RateLimit-* headers. Each test gets its own app, so its own counters."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, TestDatabase, error_code, make_settings, unique
from tynebase.api.app import create_app

AUTH_PER_IP = 3
API_PER_TENANT = 5


@pytest.fixture
def limited(database: TestDatabase) -> Iterator[TestClient]:
    settings = make_settings(
        database.base_dir,
        database.urls.owner,
        rate_limit_auth_per_ip=f"{AUTH_PER_IP}/minute",
        rate_limit_api_per_tenant=f"{API_PER_TENANT}/minute",
        # The client address comes from X-Forwarded-For, as behind a proxy.
        trusted_proxies=["*"],
    )
    with TestClient(create_app(settings, database.urls), raise_server_exceptions=False) as client:
        yield client


def assert_rate_limited(response: Any, *, limit: int) -> None:
    assert response.status_code == 429, response.text
    assert error_code(response) == "RATE_LIMITED"
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert response.headers["X-Request-ID"]


def test_auth_routes_are_limited_per_ip(limited: TestClient, admin: Account) -> None:
    ip = {"X-Forwarded-For": "203.0.113.7"}

    def attempt(password: str, headers: dict[str, str] = ip) -> Any:
        return limited.post(
            "/api/auth/login",
            json={"email": admin.email, "password": password},
            headers={"X-Tenant-Subdomain": admin.subdomain, **headers},
        )

    for _ in range(AUTH_PER_IP):
        response = attempt("wrong-password-guess")
        assert response.status_code == 401, response.text
        assert error_code(response) == "INVALID_CREDENTIALS"
    # The fourth attempt is refused before the password is even looked at.
    assert_rate_limited(attempt(admin.password), limit=AUTH_PER_IP)
    # The budget covers every auth route, not only login.
    assert_rate_limited(
        limited.post("/api/auth/password/forgot", headers=ip, json={"email": admin.email}),
        limit=AUTH_PER_IP,
    )
    assert_rate_limited(
        limited.post(
            "/api/auth/signup",
            headers=ip,
            json={
                "email": f"{unique()}@example.com",
                "password": "mellow-otter-tuba-91",
                "name": "N",
                "tenant_name": "W",
                "subdomain": unique("w"),
            },
        ),
        limit=AUTH_PER_IP,
    )

    # Another address still has its own budget.
    other = attempt(admin.password, {"X-Forwarded-For": "203.0.113.8"})
    assert other.status_code == 200, other.text


def test_api_is_limited_per_tenant(
    limited: TestClient, admin: Account, other_admin: Account
) -> None:
    for used in range(1, API_PER_TENANT + 1):
        response = limited.get("/api/auth/me", headers=admin.headers)
        assert response.status_code == 200, response.text
        assert response.headers["X-RateLimit-Limit"] == str(API_PER_TENANT)
        assert response.headers["X-RateLimit-Remaining"] == str(API_PER_TENANT - used)
        assert "Retry-After" not in response.headers
    assert_rate_limited(limited.get("/api/auth/me", headers=admin.headers), limit=API_PER_TENANT)
    # Every route of that workspace, and every user in it, shares the budget.
    assert_rate_limited(limited.get("/api/users", headers=admin.headers), limit=API_PER_TENANT)

    other = limited.get("/api/auth/me", headers=other_admin.headers)
    assert other.status_code == 200, other.text
    assert other.headers["X-RateLimit-Remaining"] == str(API_PER_TENANT - 1)
    # Health checks are not part of the API budget.
    assert limited.get("/livez", headers=admin.headers).status_code == 200
