"""Compaction (COL-4): the update log of an open document is merged into its snapshot once it
passes `TYNEBASE_COLLAB_COMPACT_AFTER_UPDATES`; exactly the merged rows leave the log and the
stored state still holds every edit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.collab.conftest import (
    CollabProcess,
    async_wait_for,
    new_document,
    stored_text,
    ticket_source,
)
from tests.collab.yclient import YClient
from tests.conftest import Account, TestDatabase
from tynebase.db.engine import libpq_url


@pytest.fixture(scope="module")
def compacting(database: TestDatabase) -> Iterator[CollabProcess]:
    process = CollabProcess(database, TYNEBASE_COLLAB_COMPACT_AFTER_UPDATES="10").start()
    yield process
    process.stop()


def _log(database: TestDatabase, tenant_id: str, document_id: str) -> tuple[int, int]:
    """(rows in the log, rows compacted into the snapshot so far)."""
    with psycopg.connect(libpq_url(database.urls.owner)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (tenant_id,))
        row: Any = conn.execute(
            "SELECT (SELECT count(*) FROM collab_updates WHERE document_id = %s),"
            " (SELECT compacted_updates FROM collab_documents WHERE document_id = %s)",
            (document_id, document_id),
        ).fetchone()
    return int(row[0]), int(row[1] or 0)


def test_the_log_is_merged_into_the_snapshot_without_losing_an_edit(
    compacting: CollabProcess, admin: Account, database: TestDatabase
) -> None:
    document_id = new_document(admin, body="")
    owner, tenant = database.urls.owner, admin.tenant_id
    typed = "".join(f"line {i}\n" for i in range(40))

    async def scenario() -> None:
        client = YClient(compacting.ws, document_id, ticket_source(admin, document_id))
        await client.connect()
        for i in range(40):
            client.type(f"line {i}\n")
            await client.flush()
            await asyncio.sleep(0.03)  # separate batches, so the log grows row by row
        await async_wait_for(
            lambda: _log(database, tenant, document_id)[1] >= 10, what="a compaction"
        )
        await async_wait_for(lambda: stored_text(owner, tenant, document_id) == typed, what="all")
        await client.close()

    asyncio.run(scenario())
    rows, compacted = _log(database, tenant, document_id)
    assert compacted >= 10
    assert rows + compacted == 40, (rows, compacted)  # each update once: log or snapshot
    assert stored_text(owner, tenant, document_id) == typed
