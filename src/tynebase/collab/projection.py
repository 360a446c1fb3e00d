"""The debounced projection of a room's Y.Text to the document's Markdown body (COL-4, DOC-3).

It goes through the documents service, so access rules, validation, the pending-draft rule for
published documents and the lineage apply exactly as for an API edit; each save that changes the
text also makes a `collab_save` version.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from pycrdt import get_update
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.collab import protocol, store
from tynebase.collab.codes import CloseCode
from tynebase.collab.room import Room
from tynebase.db.engine import Database
from tynebase.documents import repo as documents_repo
from tynebase.documents import service as documents_service
from tynebase.errors import NotFound, TynebaseError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Projected:
    version: int | None  # None: the body already had this text, nothing was written


async def do_project(conn: AsyncConnection, *, principal: Principal, room: Room) -> Projected:
    """Write the room's text as the document's body (or pending draft) plus a `collab_save`
    version.

    Several processes may project the same document: the row lock serialises them and an
    unchanged body writes nothing, so they do not pile up identical versions. If someone else
    wrote the body since this room last saw it (a REST edit, relayed into the Yjs state by
    `external`, or another process's projection), the room first takes in the stored state under
    that lock, so its text cannot be older than the body it replaces.
    """
    document = await documents_service.access_document(
        conn, principal=principal, document_id=room.document_id, for_update=True
    )
    if document.editing_body != room.base:
        await _catch_up(conn, room)
    markdown = room.markdown()
    room.base = markdown  # a failed write only costs the next projection a catch-up
    if document.editing_body == markdown:
        return Projected(version=None)
    updated = await documents_service.do_update(
        conn, principal=principal, document_id=room.document_id, body=markdown, announce=False
    )
    number = updated.current_version + 1
    await documents_repo.insert_version(
        conn,
        tenant_id=updated.tenant_id,
        document_id=room.document_id,
        number=number,
        title=updated.editing_title,
        body=markdown,
        reason="collab_save",
        created_by=principal.user_id,
    )
    await documents_repo.update(conn, room.document_id, touch=False, current_version=number)
    return Projected(version=number)


async def _catch_up(conn: AsyncConnection, room: Room) -> None:
    """Apply (and relay to the room's sockets) what the store holds and the room lacks."""
    state = await store.read_state(conn, room.document_id)
    if state is None:
        return
    missing = get_update(state, room.doc.get_state())
    if missing != protocol.EMPTY_UPDATE:
        room.apply_remote([missing])


async def project_room(db: Database, room: Room) -> str | None:
    """Project a dirty room (debounced by the manager); the outcome, for the metrics (None:
    nothing to project). A room
    whose document is gone has its sockets closed; a failed projection stays dirty (retried)."""
    async with room.busy:
        writer = room.last_writer
        if room.dirty_since is None or writer is None:
            return None
        room.dirty_since = None
        try:
            async with db.unit_of_work(room.tenant_id) as conn:
                result = await do_project(conn, principal=writer.principal, room=room)
        except NotFound:
            for connection in list(room.connections):
                connection.close(CloseCode.DOCUMENT_NOT_FOUND)
            return "document_gone"
        except TynebaseError as exc:
            # e.g. DOCUMENT_TOO_LARGE or a writer who lost the right to edit: kept in the Yjs
            # state (nothing is lost), not written to the body.
            log.warning("collab projection refused: %s", exc.code)
            return exc.code.lower()
        except Exception:
            log.exception("collab projection failed; will retry")
            if room.dirty_since is None:
                room.dirty_since = time.monotonic()
            return "error"
        return "saved" if result.version else "unchanged"
