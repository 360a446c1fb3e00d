"""Source health (RAG-5): what the index holds of each document, and reindexing on demand.

A document is `never_indexed` (no successful run yet), `failed` (the last run failed; the
error says why), `stale` (the index holds an older version or text than the document now has),
or `ok`. `queued` says whether a run is waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.documents import service as documents_service
from tynebase.documents.access import readable_clause
from tynebase.documents.models import documents
from tynebase.jobs import service as jobs_service
from tynebase.rag import indexing
from tynebase.rag.models import rag_sources

STATES = ("never_indexed", "stale", "failed", "ok")


@dataclass(frozen=True)
class SourceHealth:
    document_id: UUID
    title: str
    status: str
    current_version: int
    state: str
    queued: bool
    indexed_version: int | None
    indexed_at: datetime | None
    chunk_count: int
    embedder: str | None
    error: dict[str, Any] | None


def _state() -> sa.ColumnElement[str]:
    s, d = rag_sources, documents
    return sa.case(
        (s.c.status == "failed", "failed"),
        (s.c.indexed_at.is_(None), "never_indexed"),
        (
            sa.or_(s.c.indexed_version < d.c.current_version, s.c.indexed_at < d.c.updated_at),
            "stale",
        ),
        else_="ok",
    )


async def list_sources(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    state: str | None = None,
    after: UUID | None = None,
    limit: int = 50,
) -> list[SourceHealth]:
    """The health of the documents the caller may read, by document id (editors and admins)."""
    principal.check_role("editor")
    s, d = rag_sources, documents
    state_col = _state().label("state")
    query = (
        sa.select(
            d.c.id.label("document_id"),
            d.c.title,
            d.c.status,
            d.c.current_version,
            state_col,
            s.c.pending_job_id.is_not(None).label("queued"),
            s.c.indexed_version,
            s.c.indexed_at,
            sa.func.coalesce(s.c.chunk_count, 0).label("chunk_count"),
            s.c.embedder,
            s.c.error,
        )
        .select_from(d.outerjoin(s, s.c.document_id == d.c.id))
        .where(d.c.tenant_id == tenant_id, readable_clause(principal))
        .order_by(d.c.id)
        .limit(limit)
    )
    if state is not None:
        query = query.where(_state() == state)
    if after is not None:
        query = query.where(d.c.id > after)
    rows = (await conn.execute(query)).all()
    return [SourceHealth(**row._asdict()) for row in rows]


async def summary(conn: AsyncConnection, *, tenant_id: UUID) -> dict[str, int]:
    """How many documents of the tenant are in each state."""
    s, d = rag_sources, documents
    query = (
        sa.select(_state().label("state"), sa.func.count())
        .select_from(d.outerjoin(s, s.c.document_id == d.c.id))
        .where(d.c.tenant_id == tenant_id)
        .group_by(sa.literal_column("state"))
    )
    counts = {name: 0 for name in STATES}
    counts.update({row[0]: row[1] for row in (await conn.execute(query)).all()})
    return counts


async def do_reindex(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    document_id: UUID | None,
) -> list[UUID]:
    """Queue reindexing of one document (editors, a document they may read) or of every
    document (admins, as one job that queues the rest); returns the job ids."""
    if document_id is None:
        principal.check_role("admin")
        job = await jobs_service.do_enqueue(
            conn,
            tenant_id=tenant_id,
            kind=indexing.REINDEX_ALL_KIND,
            payload={},
            created_by=principal.user_id,
        )
        return [job.id]
    principal.check_role("editor")
    document = await documents_service.access_document(
        conn, principal=principal, document_id=document_id
    )
    # Asked for explicitly: run even if the text is unchanged (a failed or changed embedder).
    await conn.execute(
        rag_sources.update()
        .where(rag_sources.c.document_id == document.id)
        .values(content_hash=None)
    )
    return [
        await indexing.do_request_index(
            conn, tenant_id=tenant_id, document_id=document.id, requested_by=principal.user_id
        )
    ]
