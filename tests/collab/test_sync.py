"""COL-1 and COL-4 with pycrdt clients: sync over the y-websocket format, concurrent edits
converge, the body is seeded once and the projection writes body and versions."""

from __future__ import annotations

import asyncio

import psycopg

from tests.collab.conftest import (
    CollabProcess,
    async_wait_for,
    new_document,
    stored_text,
    ticket_source,
    wait_for,
)
from tests.collab.yclient import YClient
from tests.conftest import Account
from tynebase.db.engine import libpq_url


def _versions(owner_url: str, tenant_id: str, document_id: str) -> list[tuple[int, str, str]]:
    with psycopg.connect(libpq_url(owner_url)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant_id,))
        rows = conn.execute(
            "SELECT number, reason, body FROM document_versions WHERE document_id = %s "
            "ORDER BY number",
            (document_id,),
        ).fetchall()
    return [(int(n), str(r), str(b)) for n, r, b in rows]


def test_clients_converge_and_the_body_follows(
    collab: CollabProcess, admin: Account, accounts, database
) -> None:
    editor = accounts.member(admin, "editor")
    document_id = new_document(admin, body="# Title\n")

    async def scenario() -> tuple[str, str]:
        a = YClient(collab.ws, document_id, ticket_source(admin, document_id))
        b = YClient(collab.ws, document_id, ticket_source(editor, document_id))
        await a.connect()
        await b.connect()
        # Both start from the seeded body.
        assert a.value() == b.value() == "# Title\n"
        for i in range(20):
            a.type(f"a{i} ")
            b.insert(0, f"b{i} ")
            await asyncio.sleep(0)
        expected = len("# Title\n") + 2 * sum(len(f"a{i} ") for i in range(20))
        await async_wait_for(
            lambda: a.value() == b.value() and len(a.value()) == expected, what="sync"
        )
        await asyncio.sleep(0.3)
        assert a.value() == b.value()
        value = a.value()
        await a.close()
        await b.close()
        return value, b.value()

    final, _ = asyncio.run(scenario())
    assert all(f"a{i} " in final and f"b{i} " in final for i in range(20))
    owner = database.urls.owner
    assert stored_text(owner, admin.tenant_id, document_id) == final

    def body() -> str:
        response = admin.get(f"/api/documents/{document_id}")
        assert response.status_code == 200
        text: str = response.json()["body"]
        return text

    wait_for(lambda: body() == final, what="projection of the body")
    versions = _versions(owner, admin.tenant_id, document_id)
    assert versions[0][1] == "create"
    assert versions[-1][1:] == ("collab_save", final)


def test_seed_happens_once_and_reopening_keeps_the_text(
    collab: CollabProcess, admin: Account, database
) -> None:
    document_id = new_document(admin, body="seed me\n")

    async def scenario() -> None:
        a = YClient(collab.ws, document_id, ticket_source(admin, document_id))
        await a.connect()
        a.type("more\n")
        await a.close()
        # After the room was flushed and closed, a new client sees the edit once (no re-seed).
        b = YClient(collab.ws, document_id, ticket_source(admin, document_id))
        await b.connect()
        assert b.value() == "seed me\nmore\n"
        await b.close()

    asyncio.run(scenario())
    wait_for(
        lambda: stored_text(database.urls.owner, admin.tenant_id, document_id) == "seed me\nmore\n",
        what="stored text",
    )
