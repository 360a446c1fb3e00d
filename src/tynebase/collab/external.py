"""Body edits made outside the sockets (REST PATCH, a restored version, a discarded draft, an
applied AI suggestion, the web pages) reach the live Yjs state, so the rooms' next projection
keeps them instead of writing the old text back.

The documents feature announces every change of a document's editing text inside the writing
transaction (`documents.editing`); `listen_for_edits` subscribes `do_relay` in each process that
can write documents (`create_app`). The relay turns the change into one Yjs update against the
stored state (snapshot + log, locked against compaction), appends it to the update log and
announces it on the fan-out channel like any batch: every process with the document open applies
it and relays it to its clients, and a room opened later loads it. The update is made once, under
the document's row lock (the writer holds it), so several processes never apply the same edit
twice. The diff is a three-way merge (`textdiff.rebase`): typing that reached the Yjs state but
not the body yet is kept. The projection writes with `announce=False`, so it never comes back as
an edit (no loop).
"""

from __future__ import annotations

import asyncio
from typing import Any

from pycrdt import Doc, Text
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.collab import repo, store, textdiff
from tynebase.collab.protocol import EMPTY_UPDATE
from tynebase.collab.room import TEXT_NAME
from tynebase.documents import editing
from tynebase.documents.repo import Document

# The announcement's origin: no collab process has it, so every one applies the update.
ORIGIN = "rest"


def listen_for_edits() -> None:
    """Relay this process's document edits into the collaborative state (at start)."""
    editing.listen(do_relay)


async def do_relay(conn: AsyncConnection, document: Document, before: str) -> None:
    """Store and announce the change from `before` to the document's text as a Yjs update."""
    state = await store.read_state(conn, document.id)
    if state is None:
        return  # never opened: the first room seeds itself from the body
    after = document.editing_body
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
