"""Scale-out (SPEC 11, docs/SCALING.md): two of each process - `tynebase api`, `tynebase collab`,
`tynebase worker` - on one machine against shared services: one PostgreSQL, Redis for the rate
limits, one blob store. Sessions, jobs, documents and collaborative edits cross processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.collab.conftest import CollabProcess, free_port, stored_text, wait_for
from tests.collab.yclient import YClient
from tests.conftest import TEST_SECRET, TestDatabase, latest_mail_token
from tests.ops.test_serve import PASSWORD

# Low enough that a burst split over both API processes runs into it, if they share the budget.
TENANT_BUDGET = 40


class Process:
    """A `tynebase` command on the test database (shared with every other process here)."""

    def __init__(self, database: TestDatabase, log_dir: Path, *args: str, **env: str) -> None:
        self.args = args
        self.port = free_port()
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TYNEBASE_") and k != "DATABASE_URL"
        }
        self.env.update(
            DATABASE_URL=database.urls.owner,
            TYNEBASE_SECRET_KEY=TEST_SECRET,
            TYNEBASE_ENVIRONMENT="test",
            TYNEBASE_DATA_DIR=str(database.base_dir),
            TYNEBASE_PORT=str(self.port),
            TYNEBASE_LOG_LEVEL="WARNING",
            TYNEBASE_RATE_LIMIT_STORAGE_URL="redis://127.0.0.1:6379/0",
            TYNEBASE_RATE_LIMIT_API_PER_TENANT=f"{TENANT_BUDGET}/minute",
            TYNEBASE_WORKER_POLL_SECONDS="0.5",
            **env,
        )
        self.log = log_dir / f"{args[0]}-{self.port}.log"
        with self.log.open("ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "tynebase", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        if self.popen.poll() is not None:
            raise AssertionError(f"{self.args} exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


@pytest.fixture
def cluster(database: TestDatabase, tmp_path: Path) -> Iterator[dict[str, list[Process]]]:
    apis = [Process(database, tmp_path, "api") for _ in range(2)]
    workers = [Process(database, tmp_path, "worker") for _ in range(2)]
    try:
        for api in apis:
            wait_for(api.ready, timeout=90, what=f"api on {api.port}")
        yield {"api": apis, "worker": workers}
    finally:
        for process in [*apis, *workers]:
            process.stop()


def test_two_of_each_process_share_the_work(
    cluster: dict[str, list[Process]], database: TestDatabase
) -> None:
    one, two = (api.url for api in cluster["api"])
    subdomain = f"scale{int(time.time() * 1000) % 10**9}"
    signup = httpx.post(
        f"{one}/api/auth/signup",
        json={
            "email": f"ops@{subdomain}.example.com",
            "password": PASSWORD,
            "name": "Ops",
            "tenant_name": "Scale Co",
            "subdomain": subdomain,
        },
    )
    assert signup.status_code == 201, signup.text
    email = f"ops@{subdomain}.example.com"
    token = latest_mail_token(database.urls.owner, email, "onfirm")
    assert httpx.post(f"{two}/api/auth/confirm", json={"token": token}).status_code == 200
    # Signed in on one process, the token works on the other (keys and sessions are shared).
    login = httpx.post(
        f"{two}/api/auth/login",
        headers={"X-Tenant-Subdomain": subdomain},
        json={"email": f"ops@{subdomain}.example.com", "password": PASSWORD},
    )
    assert login.status_code == 200, login.text
    headers = {
        "X-Tenant-Subdomain": subdomain,
        "Authorization": f"Bearer {login.json()['access_token']}",
    }
    a = httpx.Client(base_url=one, headers=headers, timeout=30)
    b = httpx.Client(base_url=two, headers=headers, timeout=30)

    # Written through one API process, read through the other.
    created = a.post("/api/documents", json={"title": "Shared", "body": "scaled out\n"})
    assert created.status_code == 201, created.text
    document_id = created.json()["id"]
    assert b.get(f"/api/documents/{document_id}").json()["body"] == "scaled out\n"

    # An import queued through one API process runs on a `tynebase worker` (the API processes
    # run no jobs), and its status is read through the other.
    started = b.post(
        "/api/imports", files={"file": ("notes.md", b"# From a worker\n\ntext\n", "text/markdown")}
    )
    assert started.status_code == 202, started.text
    job_url = f"/api/jobs/{started.json()['job_id']}"
    wait_for(
        lambda: a.get(job_url).json()["status"] in ("succeeded", "failed"),
        timeout=60,
        what="the import job",
    )
    assert a.get(job_url).json()["status"] == "succeeded", a.get(job_url).text

    # Two collaboration processes serve the same document; clients on either converge.
    first, second = CollabProcess(database).start(), CollabProcess(database).start()
    try:

        def tickets(client: httpx.Client) -> Callable[[], Awaitable[str]]:
            async def ticket() -> str:
                url = f"/api/documents/{document_id}/collab-ticket"
                response = await asyncio.to_thread(client.post, url)
                assert response.status_code in (200, 201), response.text
                return str(response.json()["ticket"])

            return ticket

        async def edit() -> tuple[str, str]:
            left = YClient(first.ws, document_id, tickets(a))
            right = YClient(second.ws, document_id, tickets(b))
            await left.connect()
            await right.connect()
            left.type("left ")
            right.insert(0, "right ")
            await left.flush()
            await right.flush()
            deadline = time.monotonic() + 20
            while left.value() != right.value() or "left" not in right.value():
                assert time.monotonic() < deadline, (left.value(), right.value())
                await asyncio.sleep(0.05)
            await left.close()
            await right.close()
            return left.value(), right.value()

        left_text, right_text = asyncio.run(edit())
        assert left_text == right_text
        wait_for(
            lambda: (
                stored_text(database.urls.owner, signup.json()["tenant"]["id"], document_id)
                == left_text
            ),
            what="the stored Yjs state",
        )
    finally:
        first.stop()
        second.stop()

    # The per-tenant budget is one budget across both processes (Redis), not one each.
    answers = [
        (a if n % 2 else b).get("/api/auth/me").status_code for n in range(TENANT_BUDGET + 10)
    ]
    assert 429 in answers
    assert answers.count(200) <= TENANT_BUDGET
