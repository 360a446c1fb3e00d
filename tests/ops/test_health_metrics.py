from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, TestDatabase, make_settings
from tynebase.api.app import create_app
from tynebase.db.engine import Database, DatabaseUrls


def test_health_has_the_seed_shape(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "timestamp", "uptime", "environment", "version"}
    assert body["status"] == "ok"
    assert body["environment"] == "test"
    assert body["uptime"] >= 0


def test_livez_and_readyz_pass(client: TestClient) -> None:
    assert client.get("/livez").json() == {"status": "pass"}
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/health+json")
    body = response.json()
    assert body["status"] == "pass"
    assert {"database:responseTime", "migrations", "database:connections"} <= set(body["checks"])
    assert body["checks"]["migrations"][0]["status"] == "pass"


def test_readyz_fails_with_503_when_the_database_is_unreachable(database: TestDatabase) -> None:
    nowhere = "postgresql+psycopg://tynebase_app:x@127.0.0.1:1/none"
    app = create_app(make_settings(database.base_dir, database.urls.owner), database.urls)
    with TestClient(app) as client:
        # Swap the pool for one pointing nowhere: the check must report it, not crash.
        state = app.state.tynebase
        real = state.db
        state.db = Database(DatabaseUrls(owner=nowhere, app=nowhere), state.settings)
        try:
            response = client.get("/readyz")
        finally:
            state.db = real
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["database:responseTime"][0]["status"] == "fail"


def test_app_refuses_to_start_on_an_outdated_schema(database: TestDatabase) -> None:
    owner = database.create_database("tb_empty_schema")
    urls = DatabaseUrls(owner=owner, app=owner)
    app = create_app(make_settings(database.base_dir, owner), urls)
    with pytest.raises(RuntimeError, match="tynebase db upgrade"), TestClient(app):
        pass


def test_every_response_has_a_request_id_and_keeps_a_valid_one(client: TestClient) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", client.get("/livez").headers["X-Request-ID"])
    assert (
        client.get("/livez", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    odd = client.get("/livez", headers={"X-Request-ID": "bad id; drop"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", odd)
    missing = client.get("/api/no/such/route")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    assert missing.headers["X-Request-ID"]
    page = client.get("/no/such/page")  # the web app's own (HTML) not-found page
    assert page.status_code == 404
    assert page.headers["X-Request-ID"]


def test_metrics_use_route_templates_never_tenant_ids(client: TestClient, admin: Account) -> None:
    assert admin.get(f"/api/users/{admin.user_id}").status_code == 200
    text = client.get("/metrics").text
    assert 'route="/api/users/{user_id}"' in text
    assert admin.user_id not in text
    assert admin.tenant_id not in text
    assert admin.subdomain not in text
    assert "tynebase_http_request_duration_seconds_bucket" in text
    assert "tynebase_db_pool_size" in text


def test_auth_failures_are_counted_by_reason(client: TestClient, admin: Account) -> None:
    client.get(
        "/api/auth/me",
        headers={"X-Tenant-Subdomain": admin.subdomain, "Authorization": "Bearer not-a-jwt"},
    )
    assert 'tynebase_auth_failures_total{reason="INVALID_TOKEN"}' in client.get("/metrics").text


def test_oversized_json_bodies_are_refused_before_reading(admin: Account) -> None:
    response = admin.post(
        "/api/documents",
        content=b"{" + b" " * (25 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert response.headers["X-Request-ID"]
