"""Collaboration fixtures: real `tynebase collab` processes on the test database, tickets from
the real API, pycrdt clients (`yclient`) and Node clients on the npm `yjs` + `y-websocket`
packages (`nodeclients`; `npm ci` runs once when node_modules is missing or stale)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pycrdt import Doc, Text

from tests.conftest import TEST_SECRET, Account, TestDatabase
from tests.matrix.documents import make_document
from tynebase.db.engine import libpq_url

NODE_DIR = Path(__file__).parent / "node"
# Short timings so tests see projections and idle closes quickly (never asserted as times).
FAST = {
    "TYNEBASE_COLLAB_PROJECTION_DEBOUNCE_SECONDS": "0.2",
    "TYNEBASE_COLLAB_PROJECTION_MAX_DELAY_SECONDS": "1",
    "TYNEBASE_COLLAB_PERSIST_INTERVAL_MS": "10",
    "TYNEBASE_COLLAB_SHUTDOWN_SECONDS": "5",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(predicate: Callable[[], Any], *, timeout: float = 20, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def async_wait_for(
    predicate: Callable[[], Any], *, within: float = 20, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class CollabProcess:
    """`tynebase collab` on the test database, on its own port."""

    def __init__(self, database: TestDatabase, **env: str) -> None:
        self.database = database
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
            TYNEBASE_COLLAB_PORT=str(self.port),
            TYNEBASE_LOG_LEVEL="WARNING",
            **FAST,
        )
        self.env.update(env)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = (
            Path(os.environ.get("TYNEBASE_TEST_LOG_DIR", database.base_dir))
            / f"collab-{self.port}.log"
        )

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/collab"

    def start(self) -> CollabProcess:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tynebase", "collab"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for(self._ready, timeout=60, what=f"collab on {self.port}")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"collab exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.http}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def metrics(self) -> str:
        return httpx.get(f"{self.http}/metrics", timeout=5).text


@pytest.fixture(scope="session")
def collab(database: TestDatabase) -> Iterator[CollabProcess]:
    """One collab process for the tests that need default limits."""
    process = CollabProcess(database).start()
    yield process
    process.stop()


def issue_ticket(account: Account, document_id: str) -> dict[str, Any]:
    response = account.post(f"/api/documents/{document_id}/collab-ticket")
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def ticket_source(account: Account, document_id: str) -> Callable[[], Any]:
    async def fetch() -> str:
        body = await asyncio.to_thread(issue_ticket, account, document_id)
        return str(body["ticket"])

    return fetch


def new_document(account: Account, body: str = "", **fields: Any) -> str:
    document_id: str = make_document(account, body=body, **fields)["id"]
    return document_id


def stored_state(
    owner_url: str, tenant_id: str, document_id: str
) -> tuple[bytes | None, list[bytes]]:
    """The snapshot and the log rows of a document, read as the owner in its tenant."""
    with psycopg.connect(libpq_url(owner_url)) as conn:
        # One snapshot for both reads: a compaction between them would move rows from the log
        # into the snapshot we already read.
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant_id,))
        row = conn.execute(
            "SELECT snapshot FROM collab_documents WHERE document_id = %s", (document_id,)
        ).fetchone()
        updates = conn.execute(
            "SELECT update FROM collab_updates WHERE document_id = %s ORDER BY id", (document_id,)
        ).fetchall()
    return (bytes(row[0]) if row else None, [bytes(u[0]) for u in updates])


def stored_text(owner_url: str, tenant_id: str, document_id: str) -> str | None:
    """The Y.Text the database holds for a document (snapshot + log), or None."""
    snapshot, updates = stored_state(owner_url, tenant_id, document_id)
    if snapshot is None:
        return None
    doc: Doc[Any] = Doc()
    for update in [snapshot, *updates]:
        doc.apply_update(update)
    return str(doc.get("markdown", type=Text))


# --- Node clients (npm yjs + y-websocket) ----------------------------------------------------


def _lock_digest() -> str:
    return hashlib.sha256((NODE_DIR / "package-lock.json").read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`npm ci` once when node_modules is missing or older than the lockfile (xdist workers
    take a file lock so only one installs)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are required for the collaboration tests (see .ci/run)")
    marker = NODE_DIR / "node_modules" / ".tynebase-lock-digest"
    lock_path = tmp_path_factory.getbasetemp().parent / "tynebase-npm-ci.lock"
    import fcntl

    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not marker.exists() or marker.read_text() != _lock_digest():
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=NODE_DIR,
                check=True,
                timeout=300,
            )
            marker.write_text(_lock_digest())
    return NODE_DIR / "node_modules"
