"""A body written through the REST API while collaborators are connected reaches their Yjs
documents as an edit; the projection keeps it together with the typing it did not know about,
and does not come back as another edit (no loop). Real pycrdt clients over the websocket."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest

from tests.collab.conftest import (
    CollabProcess,
    async_wait_for,
    new_document,
    stored_text,
    ticket_source,
    wait_for,
)
from tests.collab.yclient import YClient
from tests.conftest import Account, TestDatabase
from tests.web.conftest import Browser
from tynebase.auth.principal import Principal
from tynebase.collab import external
from tynebase.db.engine import Database, libpq_url
from tynebase.documents import service as documents_service
from tynebase.settings import Settings


@pytest.fixture(scope="module")
def slow_projection(database: TestDatabase) -> Iterator[CollabProcess]:
    """A collab process that projects only when the last client leaves, so typing is still
    unprojected when the REST edit lands (what makes the merge observable)."""
    process = CollabProcess(
        database,
        TYNEBASE_COLLAB_PROJECTION_DEBOUNCE_SECONDS="600",
        TYNEBASE_COLLAB_PROJECTION_MAX_DELAY_SECONDS="600",
    ).start()
    yield process
    process.stop()


def _sql(database: TestDatabase, tenant_id: str, query: str, *args: Any) -> list[Any]:
    with psycopg.connect(libpq_url(database.urls.owner)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant_id,))
        return conn.execute(query, args).fetchall()


def _updates_ever_stored(database: TestDatabase, tenant_id: str, document_id: str) -> int:
    """Log rows stored for the document since it was opened (compacted ones included)."""
    rows = _sql(
        database,
        tenant_id,
        "SELECT d.compacted_updates + (SELECT count(*) FROM collab_updates u"
        " WHERE u.document_id = d.document_id) FROM collab_documents d WHERE d.document_id = %s",
        document_id,
    )
    return int(rows[0][0])


def _reasons(database: TestDatabase, tenant_id: str, document_id: str) -> list[str]:
    rows = _sql(
        database,
        tenant_id,
        "SELECT reason FROM document_versions WHERE document_id = %s ORDER BY number",
        document_id,
    )
    return [str(r[0]) for r in rows]


def _patch_body(account: Account, document_id: str, body: str) -> None:
    response = account.request("PATCH", f"/api/documents/{document_id}", json={"body": body})
    assert response.status_code == 200, response.text
    assert response.json()["body"] == body


def _body(account: Account, document_id: str) -> str:
    text: str = account.get(f"/api/documents/{document_id}").json()["body"]
    return text


def _rooms(process: CollabProcess) -> float:
    for line in process.metrics().splitlines():
        if line.startswith("tynebase_collab_rooms "):
            return float(line.split()[1])
    raise AssertionError("no rooms gauge")


def test_rest_edit_reaches_clients_and_the_projection_keeps_both(
    slow_projection: CollabProcess, admin: Account, database: TestDatabase
) -> None:
    document_id = new_document(admin, body="alpha\nbeta\n")
    owner, tenant = database.urls.owner, admin.tenant_id
    merged = "ALPHA\nbeta\ngamma\n"

    async def scenario() -> None:
        client = YClient(slow_projection.ws, document_id, ticket_source(admin, document_id))
        await client.connect()
        client.type("gamma\n")  # typing the body does not have yet
        await client.flush()
        await async_wait_for(
            lambda: stored_text(owner, tenant, document_id) == "alpha\nbeta\ngamma\n",
            what="the typing stored",
        )
        assert await asyncio.to_thread(_body, admin, document_id) == "alpha\nbeta\n"
        await asyncio.to_thread(_patch_body, admin, document_id, "ALPHA\nbeta\n")
        await async_wait_for(lambda: client.value() == merged, what="the REST edit on the client")
        await client.close()  # the last one out projects

    asyncio.run(scenario())
    wait_for(lambda: _body(admin, document_id) == merged, what="the projection")
    assert stored_text(owner, tenant, document_id) == merged
    # One update from the client, one from the REST edit; the projection added none.
    wait_for(lambda: _rooms(slow_projection) == 0, what="the room to close")
    assert _updates_ever_stored(database, tenant, document_id) == 2
    assert _reasons(database, tenant, document_id) == ["create", "collab_save"]

    # No room open now: the next one loads the stored state, which has the REST edit too.
    _patch_body(admin, document_id, "ALPHA\nbeta\ngamma\ndelta\n")

    async def reopen() -> str:
        client = YClient(slow_projection.ws, document_id, ticket_source(admin, document_id))
        await client.connect()
        value = client.value()
        await client.close()
        return value

    assert asyncio.run(reopen()) == "ALPHA\nbeta\ngamma\ndelta\n"
    assert _body(admin, document_id) == "ALPHA\nbeta\ngamma\ndelta\n"


def test_rest_edits_reach_clients_on_two_processes_once(
    collab: CollabProcess,
    slow_projection: CollabProcess,
    admin: Account,
    database: TestDatabase,
) -> None:
    document_id = new_document(admin, body="one\n")
    owner, tenant = database.urls.owner, admin.tenant_id

    async def scenario() -> None:
        first = YClient(collab.ws, document_id, ticket_source(admin, document_id))
        second = YClient(slow_projection.ws, document_id, ticket_source(admin, document_id))
        await first.connect()
        await second.connect()
        await asyncio.to_thread(_patch_body, admin, document_id, "one\ntwo\n")
        # Exactly once on both (one update made under the row lock, not one per process).
        await async_wait_for(
            lambda: first.value() == second.value() == "one\ntwo\n", what="the edit on both"
        )
        second.type("three\n")
        await second.flush()
        await async_wait_for(
            lambda: first.value() == "one\ntwo\nthree\n", what="typing across processes"
        )
        # Restoring version 1 is relayed the same way: it takes out what the body had
        # ("two"), not the typing the body has not seen yet ("three": no projection ran).
        assert await asyncio.to_thread(_body, admin, document_id) == "one\ntwo\n"
        response = await asyncio.to_thread(
            admin.post, f"/api/documents/{document_id}/versions/1/restore"
        )
        assert response.status_code == 200, response.text
        await async_wait_for(
            lambda: first.value() == second.value() == "one\nthree\n", what="restore on both"
        )
        first.type("four\n")
        await first.flush()
        await async_wait_for(lambda: second.value() == final, what="typing after")
        await first.close()
        await second.close()

    final = "one\nthree\nfour\n"
    asyncio.run(scenario())
    wait_for(lambda: _body(admin, document_id) == final, what="the projection")
    assert stored_text(owner, tenant, document_id) == final


def test_page_edits_reach_clients_too(
    collab: CollabProcess, admin: Account, database: TestDatabase
) -> None:
    """The web pages' body writes (plain-text edit, version restore) go the same way."""
    document_id = new_document(admin, body="first\n")
    browser = Browser(admin.client).login(admin)
    page = f"/w/{admin.subdomain}/d/{document_id}"

    async def scenario() -> None:
        client = YClient(collab.ws, document_id, ticket_source(admin, document_id))
        await client.connect()
        edited = await asyncio.to_thread(
            browser.post_form,
            f"{page}/edit-text",
            {"title": "Edited on the page", "body": "first\nsecond\n"},
            page=f"{page}/edit-text",
        )
        assert edited.status_code == 303, edited.text
        await async_wait_for(lambda: client.value() == "first\nsecond\n", what="the page edit")
        restored = await asyncio.to_thread(
            browser.post_form, f"{page}/versions/1/restore", {}, page=f"{page}/versions"
        )
        assert restored.status_code == 303, restored.text
        await async_wait_for(lambda: client.value() == "first\n", what="the restore")
        await client.close()

    asyncio.run(scenario())
    wait_for(lambda: _body(admin, document_id) == "first\n", what="the projection")


def test_any_write_through_the_documents_service_reaches_the_rooms(
    collab: CollabProcess, admin: Account, database: TestDatabase, settings: Settings
) -> None:
    """The relay hangs off the documents service, not off each entry point: a write made by
    code that knows nothing of collaboration (here a bare unit of work, as a future CLI command
    or job would make) still reaches open rooms; the projection's own write does not loop."""
    document_id = new_document(admin, body="start\n")
    principal = Principal(
        user_id=UUID(admin.user_id), email=admin.email, name="A", role="admin", is_superadmin=False
    )
    external.listen_for_edits()  # what every process that writes documents does at start

    async def write(body: str) -> None:
        db = Database(database.urls, settings)
        try:
            async with db.unit_of_work(UUID(admin.tenant_id)) as conn:
                await documents_service.do_update(
                    conn, principal=principal, document_id=UUID(document_id), body=body
                )
        finally:
            await db.dispose()

    async def scenario() -> None:
        client = YClient(collab.ws, document_id, ticket_source(admin, document_id))
        await client.connect()
        await write("start\nfrom the service\n")
        await async_wait_for(
            lambda: client.value() == "start\nfrom the service\n", what="the service edit"
        )
        await client.close()

    asyncio.run(scenario())
    assert stored_text(database.urls.owner, admin.tenant_id, document_id) == (
        "start\nfrom the service\n"
    )
