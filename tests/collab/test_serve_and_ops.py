"""The collab route inside the API process (as `tynebase serve` runs it): SIGTERM stores and
projects everything before closing sockets with SHUTTING_DOWN; and the standalone process's
/livez, /readyz and /metrics."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.collab.conftest import (
    FAST,
    CollabProcess,
    free_port,
    new_document,
    stored_text,
    wait_for,
)
from tests.collab.yclient import YClient
from tests.conftest import TEST_SECRET, Account, TestDatabase
from tynebase.collab.codes import CloseCode


def test_collab_inside_the_api_process_flushes_on_sigterm(
    database: TestDatabase, admin: Account
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TYNEBASE_")}
    env.update(
        DATABASE_URL=database.urls.owner,
        TYNEBASE_SECRET_KEY=TEST_SECRET,
        TYNEBASE_ENVIRONMENT="test",
        TYNEBASE_DATA_DIR=str(database.base_dir),
        TYNEBASE_PORT=str(port),
        TYNEBASE_RUN_COLLAB_IN_PROCESS="true",
        TYNEBASE_RUN_WORKER_IN_PROCESS="false",
        TYNEBASE_LOG_LEVEL="WARNING",
        **FAST,
    )
    # Long debounce: only the shutdown flush can have written the body.
    env["TYNEBASE_COLLAB_PROJECTION_DEBOUNCE_SECONDS"] = "600"
    env["TYNEBASE_COLLAB_PROJECTION_MAX_DELAY_SECONDS"] = "600"
    log = Path(database.base_dir) / f"api-{port}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tynebase", "api"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    document_id = new_document(admin, body="served\n")

    def ready() -> bool:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    async def ticket() -> str:
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{base}/api/documents/{document_id}/collab-ticket", headers=admin.headers
            )
        assert response.status_code == 201, response.text
        url: str = response.json()["url"]
        assert url.endswith("/collab")
        return str(response.json()["ticket"])

    async def scenario() -> tuple[str, int]:
        client = YClient(f"ws://127.0.0.1:{port}/collab", document_id, ticket)
        await client.connect()
        for i in range(30):
            client.type(f"t{i} ")
        await client.flush()
        await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        code = await client.closed_code()
        return client.value(), code

    try:
        wait_for(ready, timeout=60, what="the API process")
        final, code = asyncio.run(scenario())
        assert code == CloseCode.SHUTTING_DOWN
        # uvicorn re-raises the captured SIGTERM once it has shut down cleanly.
        assert process.wait(30) in (0, -signal.SIGTERM)
        assert stored_text(database.urls.owner, admin.tenant_id, document_id) == final
        assert admin.get(f"/api/documents/{document_id}").json()["body"] == final
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_health_and_metrics(collab: CollabProcess) -> None:
    assert httpx.get(f"{collab.http}/livez").json() == {"status": "pass"}
    ready = httpx.get(f"{collab.http}/readyz")
    assert ready.status_code == 200
    assert ready.headers["content-type"].startswith("application/health+json")
    body = ready.json()
    assert body["status"] == "pass"
    assert body["checks"]["collab"][0]["status"] == "pass"
    metrics = collab.metrics()
    for name in (
        "tynebase_collab_connections",
        "tynebase_collab_rooms",
        "tynebase_collab_messages_total",
        "tynebase_collab_bytes_total",
        "tynebase_collab_persistence_lag_seconds",
        "tynebase_collab_store_lag_seconds_bucket",
        "tynebase_collab_listener_connected 1.0",
    ):
        assert name in metrics
