"""Changes to a document's editing text, announced to whoever keeps a live copy of it.

The collaboration server holds each open document's text as Yjs state. A write made anywhere
else (REST PATCH, a restored version, a discarded draft, an applied AI suggestion, the web
pages) must reach that state in the same transaction, or the rooms' next projection writes the
old text back. So the documents feature announces every such write from its own operations,
whatever the entry point, and the collaboration feature listens (registered when a process
starts: `collab.external.listen_for_edits`). The listener is registered rather than imported
because collab builds on documents, not the other way round.

    await editing.do_announce(conn, before=document, after=updated)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.documents.repo import Document

# (conn, document as written, its editing text before the write)
Listener = Callable[[AsyncConnection, Document, str], Awaitable[None]]

_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    """Hear every change of editing text in this process (idempotent)."""
    if listener not in _listeners:
        _listeners.append(listener)


async def do_announce(conn: AsyncConnection, *, before: Document, after: Document) -> None:
    """Tell the listeners, inside the writing transaction, if the editing text changed."""
    if before.editing_body == after.editing_body:
        return
    for listener in _listeners:
        await listener(conn, after, before.editing_body)
