"""Body edits made outside the sockets (REST PATCH, a restored version, a discarded draft) reach
the live Yjs state, so the rooms' next projection keeps them instead of writing the old text back.

The write's own transaction turns the change into one Yjs update against the stored state
(snapshot + log, locked against compaction), appends it to the update log and announces it on
the fan-out channel like any batch: every process with the document open applies it and relays
it to its clients, and a room opened later loads it. The update is made once, under the
document's row lock, so several processes never apply the same edit twice. The diff is a
three-way merge (`textdiff.rebase`): typing that reached the Yjs state but not the body yet is
kept. The projection that follows writes through the documents service directly, which relays
nothing, so a projection never comes back as an edit (no loop).

    before = await external.body_before_write(conn, document_id)
    document = await documents_service.do_update(conn, ..., body=new_body)
    await external.do_relay(conn, document=document, before=before)
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from pycrdt import Doc, Text
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.collab import repo, store, textdiff
from tynebase.collab.projection import editing_body
from tynebase.collab.protocol import EMPTY_UPDATE
from tynebase.collab.room import TEXT_NAME
from tynebase.documents import repo as documents_repo
from tynebase.documents.repo import Document

# The announcement's origin: no collab process has it, so every one applies the update.
ORIGIN = "rest"


async def body_before_write(conn: AsyncConnection, document_id: UUID) -> str | None:
    """The text collaborators edit, read under the document's row lock before a write (None:
    no such row; the write itself then answers 404)."""
    document = await documents_repo.get(conn, document_id, for_update=True)
    return None if document is None else editing_body(document)


async def do_relay(conn: AsyncConnection, *, document: Document, before: str | None) -> None:
    """Store and announce the change from `before` to the document's text as a Yjs update."""
    after = editing_body(document)
    if before is None or before == after:
        return
    state = await store.read_state(conn, document.id)
    if state is None:
        return  # never opened: the first room seeds itself from the body
    update = await asyncio.to_thread(edit_update, state, before, after)
    if update == EMPTY_UPDATE:
        return
    ids = await repo.append_updates(
        conn, tenant_id=document.tenant_id, document_id=document.id, updates=[update]
    )
    payload = store.announcement_payload(ORIGIN, document.tenant_id, document.id, [update], ids)
    await store.announce(conn, payload)


def edit_update(state: bytes, base: str, ours: str) -> bytes:
    """The Yjs update that makes the Y.Text of `state` carry ours' changes to `base`."""
    doc: Doc[Any] = Doc()
    doc.apply_update(state)
    text = doc.get(TEXT_NAME, type=Text)
    before = doc.get_state()
    with doc.transaction():
        textdiff.edit(text, base=base, ours=ours)
    return doc.get_update(before)
