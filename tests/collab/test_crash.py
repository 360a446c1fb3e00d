"""COL-4: SIGKILL the collab process while clients type; restart it; the clients reconnect
(with new tickets) and every client and the database end with the same text, which contains
everything that had been stored before the crash."""

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


def test_sigkill_while_typing_loses_nothing_stored(
    database: TestDatabase, admin: Account, node_modules: Path
) -> None:
    process = CollabProcess(database).start()
    document_id = new_document(admin, body="before the crash\n")
    owner = database.urls.owner

    async def type_for(client: YClient, prefix: str, count: int) -> None:
        for i in range(count):
            client.type(f"{prefix}{i} ")
            await asyncio.sleep(0.01)

    async def scenario() -> tuple[str, str]:
        async with NodeClients() as node:
            await node.open("n", process.ws, document_id, ticket_source(admin, document_id))
            a = YClient(process.ws, document_id, ticket_source(admin, document_id))
            b = YClient(process.ws, document_id, ticket_source(admin, document_id))
            await a.connect()
            await b.connect()
            a.stay_connected()
            b.stay_connected()
            await node.burst("n", count=60, prefix="n", interval_ms=10)
            typing = asyncio.gather(type_for(a, "a", 60), type_for(b, "b", 60))
            await asyncio.sleep(0.3)
            await asyncio.to_thread(process.kill)  # mid-typing
            at_crash = await asyncio.to_thread(stored_text, owner, admin.tenant_id, document_id)
            assert at_crash is not None
            assert at_crash.startswith(("before", "b", "a", "n"))
            await asyncio.sleep(0.3)  # clients keep typing while the server is down
            await asyncio.to_thread(process.start)
            await typing
            await node.wait_event(lambda e: e["event"] == "burst-done" and e["id"] == "n")
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                texts = {a.value(), b.value(), await node.text("n")}
                complete = all(f"{p}{i} " in a.value() for p in ("a", "b", "n") for i in range(60))
                if len(texts) == 1 and complete:
                    break
                assert asyncio.get_running_loop().time() < deadline, "did not converge"
                await asyncio.sleep(0.1)
            final = a.value()
            await a.close()
            await b.close()
            await node.close("n")
            # The Node client reconnected with a fresh ticket after its old one was refused.
            assert any(e["event"] == "need-ticket" for e in node.events)
            return at_crash, final

    try:
        at_crash, final = asyncio.run(scenario())
        # Nothing that was stored before the crash is lost.
        for token in at_crash.split():
            assert token in final
        wait_for(
            lambda: stored_text(owner, admin.tenant_id, document_id) == final,
            what="the database to hold the final text",
        )
        wait_for(
            lambda: admin.get(f"/api/documents/{document_id}").json()["body"] == final,
            what="the body",
        )
    finally:
        process.stop()
