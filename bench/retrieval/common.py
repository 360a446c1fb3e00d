"""Shared by the retrieval benchmarks: an embedded PostgreSQL with the schema, the real app
in-process (Starlette's TestClient: the full HTTP stack, no sockets), a worker run to idle."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tynebase.api.app import create_app
from tynebase.db.embedded import EmbeddedPostgres
from tynebase.db.engine import Database, DatabaseUrls
from tynebase.db.setup import prepare_schema
from tynebase.settings import Settings
from tynebase.workers.worker import run_until_idle

PASSWORD = "mellow-otter-tuba-91"  # noqa: S105 - throwaway accounts in a scratch database
SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def make_settings(base_dir: Path, owner_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": base_dir,
        "database_url": owner_url,
        "secret_key": SECRET,
        "rate_limit_auth_per_ip": "100000/minute",
        "rate_limit_api_per_tenant": "1000000/minute",
        "run_worker_in_process": False,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextmanager
def embedded_database(base_dir: Path | None = None) -> Iterator[tuple[Path, str]]:
    """(data dir, owner URL) of a fresh embedded PostgreSQL with the schema at head."""
    base = base_dir or Path(tempfile.mkdtemp(prefix="tbr", dir="/tmp"))
    server = EmbeddedPostgres(base)
    server.start()
    try:
        owner = server.bootstrap("tynebase_bench")
        settings = make_settings(base, owner)
        prepare_schema(settings, DatabaseUrls(owner=owner, app=settings.app_url_from(owner)))
        yield base, owner
    finally:
        server.stop()
        if base_dir is None:
            shutil.rmtree(base, ignore_errors=True)


def urls_of(settings: Settings, owner: str) -> DatabaseUrls:
    return DatabaseUrls(owner=owner, app=settings.app_url_from(owner))


def run_worker(settings: Settings, urls: DatabaseUrls) -> float:
    """Run every ready job; returns the seconds it took."""

    async def run() -> None:
        db = Database(urls, settings)
        try:
            await run_until_idle(settings, db)
        finally:
            await db.dispose()

    started = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - started


@contextmanager
def app_client(settings: Settings, urls: DatabaseUrls) -> Iterator[TestClient]:
    with TestClient(create_app(settings, urls), raise_server_exceptions=False) as client:
        yield client


def signup(client: TestClient, owner_url: str) -> dict[str, str]:
    """A workspace and its admin's headers (the first account is confirmed automatically only
    in `serve`, so confirm through the outbox token like a person would)."""
    import psycopg

    from tynebase.db.engine import libpq_url

    sub = f"b{uuid.uuid4().hex[:10]}"
    email = f"{sub}@bench.example"
    response = client.post(
        "/api/auth/signup",
        json={
            "email": email,
            "password": PASSWORD,
            "name": "Bench",
            "tenant_name": sub,
            "subdomain": sub,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    with psycopg.connect(libpq_url(owner_url)) as conn:
        row = conn.execute(
            "SELECT body FROM mail_outbox WHERE to_address = %s ORDER BY created_at DESC LIMIT 1",
            (email,),
        ).fetchone()
    assert row is not None
    token = next(line[7:] for line in row[0].splitlines() if line.startswith("Token: "))
    client.post("/api/auth/confirm", json={"token": token})
    return login(
        client,
        {
            "X-Tenant-Subdomain": sub,
            "tenant_id": body["tenant"]["id"],
            "user_id": body["user"]["id"],
        },
    )


def login(client: TestClient, account: dict[str, str]) -> dict[str, str]:
    """`account` (from `signup`) with a fresh access token."""
    sub = account["X-Tenant-Subdomain"]
    response = client.post(
        "/api/auth/login",
        json={"email": f"{sub}@bench.example", "password": PASSWORD},
        headers={"X-Tenant-Subdomain": sub},
    )
    assert response.status_code == 200, response.text
    return {**account, "Authorization": f"Bearer {response.json()['access_token']}"}


def headers_of(account: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in account.items() if k in ("X-Tenant-Subdomain", "Authorization")}


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, indent=2))
