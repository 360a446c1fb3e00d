"""The debounced projection of a room's Y.Text to the document's Markdown body (COL-4, DOC-3).

It goes through the documents service, so access rules, validation, the pending-draft rule for
published documents and the lineage apply exactly as for an API edit; each save that changes the
text also makes a `collab_save` version.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.documents import repo as documents_repo
from tynebase.documents import service as documents_service
from tynebase.documents.repo import Document


def editing_body(document: Document) -> str:
    """The text collaborators edit: a published document's pending draft, else its body."""
    return document.draft_body if document.draft_body is not None else document.body


def editing_title(document: Document) -> str:
    return document.draft_title if document.draft_title is not None else document.title


@dataclass(frozen=True)
class Projected:
    version: int | None  # None: the body already had this text, nothing was written


async def do_project(
    conn: AsyncConnection, *, principal: Principal, document_id: UUID, markdown: str
) -> Projected:
    """Write `markdown` as the document's body (or pending draft) plus a `collab_save` version.

    Several processes may project the same document: the row lock serialises them and an
    unchanged body writes nothing, so they do not pile up identical versions.
    """
    document = await documents_service.access_document(
        conn, principal=principal, document_id=document_id, for_update=True
    )
    if editing_body(document) == markdown:
        return Projected(version=None)
    updated = await documents_service.do_update(
        conn, principal=principal, document_id=document_id, body=markdown
    )
    number = updated.current_version + 1
    await documents_repo.insert_version(
        conn,
        tenant_id=updated.tenant_id,
        document_id=document_id,
        number=number,
        title=editing_title(updated),
        body=markdown,
        reason="collab_save",
        created_by=principal.user_id,
    )
    await documents_repo.update(conn, document_id, touch=False, current_version=number)
    return Projected(version=number)
