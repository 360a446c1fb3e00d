"""URL import (FILE-4) through the API and a job: the page becomes a draft document; forbidden
addresses are refused in the request when the URL names them, and in the job when a name or a
redirect leads to them, with the same codes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, Accounts, TestDatabase, error_code, make_settings
from tests.files.conftest import through
from tests.ssrf.server import LoopbackServer, page, redirect, unbounded
from tynebase.api.app import create_app
from tynebase.db.engine import Database
from tynebase.settings import Settings
from tynebase.workers.worker import run_until_idle

ARTICLE = (
    b"<!DOCTYPE html><html><head><title>Team handbook</title><script>steal()</script></head>"
    b"<body><h1>Handbook</h1><p>We ship on Tuesdays.</p><ul><li>one</li><li>two</li></ul>"
    b"</body></html>"
)


@pytest.fixture(scope="module")
def loopback_settings(database: TestDatabase) -> Settings:
    """The test-only allow-list: the loopback server may be fetched (nothing else new)."""
    return make_settings(
        database.base_dir,
        database.urls.owner,
        url_fetch_allowed_networks=["127.0.0.1/32"],
        url_fetch_max_bytes=100_000,
    )


@pytest.fixture(scope="module")
def loopback_client(loopback_settings: Settings, database: TestDatabase) -> Iterator[TestClient]:
    app = create_app(loopback_settings, database.urls)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def run_jobs(settings: Settings, database: TestDatabase) -> None:
    async def main() -> None:
        db = Database(database.urls, settings)
        try:
            await run_until_idle(settings, db, queues=["default"])
        finally:
            await db.dispose()

    asyncio.run(main())


def start(account: Account, url: str, **extra: Any) -> dict[str, Any]:
    response = account.post("/api/imports/url", json={"url": url, **extra})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def job_of(account: Account, job_id: str) -> dict[str, Any]:
    response = account.get(f"/api/jobs/{job_id}")
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


def test_forbidden_urls_are_refused_in_the_request(admin: Account, accounts: Accounts) -> None:
    for url, code in (
        ("http://127.0.0.1:8000/admin", "URL_FORBIDDEN_ADDRESS"),
        ("http://169.254.169.254/latest/meta-data/iam/", "URL_FORBIDDEN_ADDRESS"),
        ("http://[::1]/", "URL_FORBIDDEN_ADDRESS"),
        ("http://10.0.0.7/", "URL_FORBIDDEN_ADDRESS"),
        ("file:///etc/passwd", "URL_BAD_SCHEME"),
        ("ftp://example.com/x", "URL_BAD_SCHEME"),
        ("http://user:pw@example.com/", "URL_INVALID"),
    ):
        response = admin.post("/api/imports/url", json={"url": url})
        assert response.status_code == 400, (url, response.text)
        assert error_code(response) == code, url
    viewer = accounts.member(admin, "viewer")
    response = viewer.post("/api/imports/url", json={"url": "https://example.com/"})
    assert (response.status_code, error_code(response)) == (403, "INSUFFICIENT_ROLE")
    assert admin.post("/api/imports/url", json={}).status_code == 400
    # Raw JSON: a lone surrogate cannot even be encoded by the client library.
    for raw in (
        rb'{"url": "https://example.com/\u0000"}',
        rb'{"url": "https://a.b/", "title": "\ud800"}',
    ):
        response = admin.post(
            "/api/imports/url", content=raw, headers={"Content-Type": "application/json"}
        )
        assert (response.status_code, error_code(response)) == (400, "VALIDATION_ERROR"), raw


def test_a_name_for_loopback_fails_the_job(
    admin: Account, settings: Settings, database: TestDatabase, server: LoopbackServer
) -> None:
    """`localhost` passes the request (no DNS there) and is refused by the job, which resolves
    it; the server never sees a request."""
    server.routes["/"] = page(ARTICLE)
    started = start(admin, f"http://localhost:{server.port}/")
    run_jobs(settings, database)
    job = job_of(admin, started["job_id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "URL_FORBIDDEN_ADDRESS"
    assert job["dead_letter"] is True
    assert server.seen == []


def test_imports_a_page_as_a_draft(
    admin: Account,
    loopback_client: TestClient,
    loopback_settings: Settings,
    database: TestDatabase,
    server: LoopbackServer,
) -> None:
    account = through(admin, loopback_client)
    server.routes["/handbook"] = redirect("/handbook/v2")
    server.routes["/handbook/v2"] = page(ARTICLE)
    started = start(account, server.url("/handbook"))
    assert started["status"] == "queued"
    run_jobs(loopback_settings, database)
    job = job_of(account, started["job_id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == 100
    assert job["result"]["final_url"] == server.url("/handbook/v2")
    document = account.get(f"/api/documents/{job['result']['document_id']}").json()
    assert document["title"] == "Handbook"
    assert document["status"] == "draft"
    assert "We ship on Tuesdays." in document["body"]
    assert "- one\n- two" in document["body"]
    assert "steal" not in document["body"]
    lineage = account.get(f"/api/documents/{document['id']}/lineage").json()["items"]
    assert [entry["event"] for entry in lineage] == ["imported"]
    assert lineage[0]["details"]["url"] == server.url("/handbook")
    assert lineage[0]["details"]["redirects"] == [server.url("/handbook/v2")]


def test_job_refusals_carry_their_codes(
    admin: Account,
    loopback_client: TestClient,
    loopback_settings: Settings,
    database: TestDatabase,
    server: LoopbackServer,
) -> None:
    account = through(admin, loopback_client)
    server.routes["/to-metadata"] = redirect("http://169.254.169.254/latest/meta-data/")
    server.routes["/to-private"] = redirect("http://192.168.0.1/router")
    server.routes["/huge"] = unbounded(500_000)
    server.routes["/binary"] = page(b"%PDF-1.7 ...", "application/pdf")
    expected = {
        "/to-metadata": "URL_FORBIDDEN_ADDRESS",
        "/to-private": "URL_FORBIDDEN_ADDRESS",
        "/huge": "URL_TOO_LARGE",
        "/binary": "URL_UNSUPPORTED_CONTENT",
        "/missing": "URL_HTTP_ERROR",
    }
    jobs = {path: start(account, server.url(path))["job_id"] for path in expected}
    run_jobs(loopback_settings, database)
    for path, code in expected.items():
        job = job_of(account, jobs[path])
        assert (job["status"], job["error"]["code"]) == ("failed", code), (path, job)
    # Only the allowed server was ever contacted.
    assert {p for p, _ in server.seen} == set(expected)
