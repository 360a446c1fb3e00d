"""COL-6: two collab processes serve one document; clients on either converge (fan-out through
Postgres: each batch is stored and announced with NOTIFY in one commit)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.collab.conftest import (
    CollabProcess,
    new_document,
    stored_text,
    ticket_source,
    wait_for,
)
from tests.collab.nodeclients import NodeClients
from tests.collab.yclient import YClient
from tests.conftest import Account, TestDatabase


def test_clients_on_two_processes_converge(
    collab: CollabProcess, database: TestDatabase, admin: Account, node_modules: Path
) -> None:
    second = CollabProcess(database).start()
    document_id = new_document(admin, body="two servers\n")
    owner = database.urls.owner

    async def scenario() -> str:
        async with NodeClients() as node:
            first_client = YClient(collab.ws, document_id, ticket_source(admin, document_id))
            await first_client.connect()
            await node.open("n", second.ws, document_id, ticket_source(admin, document_id))
            second_client = YClient(second.ws, document_id, ticket_source(admin, document_id))
            await second_client.connect()
            await node.burst("n", count=40, prefix="n", interval_ms=5)
            for i in range(40):
                first_client.type(f"one{i} ")
                second_client.insert(0, f"two{i} ")
                await asyncio.sleep(0.005)
            await node.wait_event(lambda e: e["event"] == "burst-done" and e["id"] == "n")
            deadline = asyncio.get_running_loop().time() + 20
            while True:
                texts = {first_client.value(), second_client.value(), await node.text("n")}
                done = all(
                    f"{p}{i} " in first_client.value()
                    for p in ("one", "two", "n")
                    for i in range(40)
                )
                if len(texts) == 1 and done:
                    break
                assert asyncio.get_running_loop().time() < deadline, "did not converge"
                await asyncio.sleep(0.05)
            # A client joining later on the first process gets everything too.
            late = YClient(collab.ws, document_id, ticket_source(admin, document_id))
            await late.connect()
            final = first_client.value()
            assert late.value() == final
            for client in (first_client, second_client, late):
                await client.close()
            await node.close("n")
            return final

    try:
        final = asyncio.run(scenario())
        wait_for(
            lambda: stored_text(owner, admin.tenant_id, document_id) == final,
            what="stored state",
        )
        wait_for(
            lambda: admin.get(f"/api/documents/{document_id}").json()["body"] == final,
            what="the body",
        )
    finally:
        second.stop()
