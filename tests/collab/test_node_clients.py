"""COL-1 with the standard browser stack: npm `yjs` + `y-websocket`'s WebsocketProvider
(unchanged) and pycrdt clients edit one document at the same time and converge; the Markdown
body and the versions follow."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg

from tests.collab.conftest import (
    CollabProcess,
    async_wait_for,
    new_document,
    stored_text,
    ticket_source,
    wait_for,
)
from tests.collab.nodeclients import NodeClients
from tests.collab.yclient import YClient
from tests.conftest import Account, Accounts, TestDatabase
from tynebase.db.engine import libpq_url


def _collab_versions(owner_url: str, tenant_id: str, document_id: str) -> list[str]:
    with psycopg.connect(libpq_url(owner_url)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant_id,))
        rows = conn.execute(
            "SELECT body FROM document_versions WHERE document_id = %s AND reason = "
            "'collab_save' ORDER BY number",
            (document_id,),
        ).fetchall()
    return [str(row[0]) for row in rows]


def test_node_and_pycrdt_clients_converge(
    collab: CollabProcess,
    admin: Account,
    accounts: Accounts,
    database: TestDatabase,
    node_modules: Path,
) -> None:
    editor = accounts.member(admin, "editor")
    document_id = new_document(admin, body="Shared notes\n")

    async def scenario() -> str:
        async with NodeClients() as node:
            await node.open("n1", collab.ws, document_id, ticket_source(admin, document_id))
            await node.open("n2", collab.ws, document_id, ticket_source(editor, document_id))
            py = YClient(collab.ws, document_id, ticket_source(editor, document_id))
            await py.connect()
            assert await node.text("n1") == "Shared notes\n"
            # All three type at the same time.
            await node.burst("n1", count=30, prefix="n1-", interval_ms=5)
            await node.burst("n2", count=30, prefix="n2-", interval_ms=5)
            for i in range(30):
                py.insert(0, f"p{i} ")
                await asyncio.sleep(0.005)
            await node.wait_event(lambda e: e["event"] == "burst-done" and e["id"] == "n1")
            await node.wait_event(lambda e: e["event"] == "burst-done" and e["id"] == "n2")
            await py.flush()

            async def converged() -> bool:
                texts = {await node.text("n1"), await node.text("n2"), py.value()}
                return len(texts) == 1 and all(
                    f"{p}{i} " in py.value() for p in ("n1-", "n2-", "p") for i in range(30)
                )

            deadline = asyncio.get_running_loop().time() + 20
            while not await converged():
                assert asyncio.get_running_loop().time() < deadline, "clients did not converge"
                await asyncio.sleep(0.05)
            final = py.value()
            await py.close()
            await node.close("n1")
            await node.close("n2")
            return final

    final = asyncio.run(scenario())
    owner = database.urls.owner
    wait_for(lambda: stored_text(owner, admin.tenant_id, document_id) == final, what="stored state")
    wait_for(
        lambda: admin.get(f"/api/documents/{document_id}").json()["body"] == final,
        what="the body",
    )
    versions = _collab_versions(owner, admin.tenant_id, document_id)
    assert versions
    assert versions[-1] == final


def test_node_client_sees_presence_and_edits_of_a_pycrdt_client(
    collab: CollabProcess, admin: Account, node_modules: Path
) -> None:
    document_id = new_document(admin, body="")

    async def scenario() -> None:
        async with NodeClients() as node:
            await node.open("n", collab.ws, document_id, ticket_source(admin, document_id))
            py = YClient(collab.ws, document_id, ticket_source(admin, document_id))
            await py.connect()
            # The Node client's awareness (user name) reached the pycrdt client.
            await async_wait_for(
                lambda: any('"name":"n"' in s for s in py.awareness.values()), what="presence"
            )
            py.type("hello from python")
            deadline = asyncio.get_running_loop().time() + 10
            while await node.text("n") != "hello from python":
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
            await py.close()

    asyncio.run(scenario())
