"""Rate limits shared through Redis: two API processes draw from one per-tenant budget."""

from __future__ import annotations

import os
from contextlib import ExitStack

import pytest
import redis
from fastapi.testclient import TestClient

from tests.conftest import Account, TestDatabase, error_code, make_settings
from tynebase.api.app import create_app

REDIS_URL = os.environ.get("TYNEBASE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def test_two_processes_share_the_tenant_budget(database: TestDatabase, admin: Account) -> None:
    if not _redis_reachable():
        if os.environ.get("CI"):
            raise AssertionError(f"Redis is required in CI at {REDIS_URL}")
        pytest.skip(f"no Redis at {REDIS_URL}")
    settings = make_settings(
        database.base_dir,
        database.urls.owner,
        rate_limit_api_per_tenant="4/minute",
        rate_limit_storage_url=REDIS_URL,
    )
    with ExitStack() as stack:
        first, second = (
            stack.enter_context(TestClient(create_app(settings, database.urls))) for _ in range(2)
        )
        statuses = [
            client.get("/api/auth/me", headers=admin.headers).status_code
            for client in (first, second, first, second)
        ]
        assert statuses == [200, 200, 200, 200]
        refused = first.get("/api/auth/me", headers=admin.headers)
        assert refused.status_code == 429
        assert error_code(refused) == "RATE_LIMITED"
        assert refused.headers["X-RateLimit-Limit"] == "4"
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert int(refused.headers["Retry-After"]) >= 1
        assert second.get("/api/auth/me", headers=admin.headers).status_code == 429
