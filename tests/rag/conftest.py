"""Helpers for the retrieval tests: documents made through the API, the worker run to idle."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

from tests.conftest import Account, TestDatabase
from tynebase.db.engine import Database, libpq_url
from tynebase.settings import Settings
from tynebase.workers.worker import run_until_idle


@pytest.fixture(scope="session", autouse=True)
def _embedder_loaded_once() -> None:
    """Load the default embedder once per test process (the app and workers share it)."""
    from tynebase.rag.embedders import local_embedder

    local_embedder("wordllama")


def run_jobs(settings: Settings, database: TestDatabase) -> None:
    """What a worker does: run every job that is ready, then return."""

    async def run() -> None:
        db = Database(database.urls, settings)
        try:
            await run_until_idle(settings, db)
        finally:
            await db.dispose()

    asyncio.run(run())


def create(account: Account, title: str, body: str, **fields: Any) -> dict[str, Any]:
    response = account.post("/api/documents", json={"title": title, "body": body, **fields})
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def publish(account: Account, document_id: str) -> None:
    response = account.post(f"/api/documents/{document_id}/publish")
    assert response.status_code == 200, response.text


def chunks_of(database: TestDatabase, account: Account, document_id: str) -> list[Any]:
    """(ordinal, heading, content, version_number, dims) of a document's chunks."""
    with psycopg.connect(libpq_url(database.urls.owner)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (account.tenant_id,))
        return conn.execute(
            "SELECT ordinal, heading, content, version_number, dims FROM rag_chunks "
            "WHERE document_id = %s ORDER BY ordinal",
            (document_id,),
        ).fetchall()


def search(account: Account, q: str, mode: str = "hybrid", **params: Any) -> list[dict[str, Any]]:
    response = account.get("/api/search", params={"q": q, "mode": mode, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == mode
    items: list[dict[str, Any]] = body["items"]
    return items


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of a Server-Sent Events body."""
    import json

    events: list[tuple[str, Any]] = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def ask(account: Account, question: str, **fields: Any) -> list[tuple[str, Any]]:
    response = account.post("/api/ai/chat", json={"question": question, **fields})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return parse_sse(response.text)


def answer_of(events: list[tuple[str, Any]]) -> tuple[str, str, dict[str, Any]]:
    """(answer_kind, text, citations event) of a chat's events."""
    kinds = [name for name, _ in events]
    assert kinds[0] == "meta", kinds
    assert kinds[-2:] == ["citations", "done"], kinds
    text = "".join(data["text"] for name, data in events if name == "token")
    return events[0][1]["answer_kind"], text, events[-2][1]
