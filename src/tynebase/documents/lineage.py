"""The lineage record (DOC-7): one append-only row per lifecycle event of a document.

The database refuses UPDATE, DELETE and TRUNCATE on `document_lineage` (trigger), and the table
has no foreign key to `documents`, so the record outlives the document: after a deletion the
`deleted` entry keeps who could read it (author, visibility, status), and the lineage stays
readable by the same people as before (admins, editors unless it was private, its author).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.db.metadata import AnyRow
from tynebase.documents import access, cursor
from tynebase.documents.models import document_lineage, documents
from tynebase.errors import NotFound

MAX_PAGE = 100


async def record(
    conn: AsyncConnection,
    *,
    tenant_id: UUID,
    document_id: UUID,
    event: str,
    actor_id: UUID | None,
    version: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        document_lineage.insert().values(
            tenant_id=tenant_id,
            document_id=document_id,
            event=event,
            actor_id=actor_id,
            version=version,
            details=details or {},
        )
    )


async def list_for(
    conn: AsyncConnection, document_id: UUID, *, after_id: int = 0, limit: int | None = None
) -> list[AnyRow]:
    query = (
        sa.select(document_lineage)
        .where(document_lineage.c.document_id == document_id, document_lineage.c.id > after_id)
        .order_by(document_lineage.c.id)
    )
    if limit is not None:
        query = query.limit(limit)
    return list((await conn.execute(query)).all())


async def _rights(conn: AsyncConnection, document_id: UUID) -> dict[str, Any] | None:
    """Author, status and visibility of the document, or of what it was when deleted."""
    row = (
        await conn.execute(
            sa.select(documents.c.author_id, documents.c.status, documents.c.visibility).where(
                documents.c.id == document_id
            )
        )
    ).first()
    if row is not None:
        return {"author_id": row.author_id, "status": row.status, "visibility": row.visibility}
    deleted = (
        await conn.execute(
            sa.select(document_lineage.c.details)
            .where(
                document_lineage.c.document_id == document_id,
                document_lineage.c.event == "deleted",
            )
            .order_by(document_lineage.c.id.desc())
            .limit(1)
        )
    ).first()
    if deleted is None:
        return None
    details = deleted.details
    author = details.get("author_id")
    return {
        "author_id": UUID(author) if author else None,
        "status": details.get("status", "draft"),
        "visibility": details.get("visibility", "private"),
    }


async def access_lineage(conn: AsyncConnection, *, principal: Principal, document_id: UUID) -> None:
    """Editors and admins (of documents they may read) and the author see the lineage; other
    readers get 403; those who could not read the document get its 404."""
    rights = await _rights(conn, document_id)
    if rights is None or not access.can_read(principal, **rights):
        raise NotFound("Document not found", code="DOCUMENT_NOT_FOUND")
    if rights["author_id"] != principal.user_id:
        principal.check_role("editor")


@dataclass(frozen=True)
class LineagePage:
    rows: list[AnyRow]
    next_cursor: str | None


async def list_page(
    conn: AsyncConnection,
    *,
    principal: Principal,
    document_id: UUID,
    cursor_token: str | None,
    limit: int,
) -> LineagePage:
    """The document's lineage, oldest first, one page at a time."""
    await access_lineage(conn, principal=principal, document_id=document_id)
    limit = max(1, min(limit, MAX_PAGE))
    after_id = cursor.decode_int(cursor_token) if cursor_token else 0
    rows = await list_for(conn, document_id, after_id=after_id, limit=limit + 1)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursor.encode(rows[-1].id)
    return LineagePage(rows=rows, next_cursor=next_cursor)
