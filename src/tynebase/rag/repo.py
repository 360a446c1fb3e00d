"""Queries of the index: chunks and per-document source rows (tenant rows by RLS); never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.rag.chunking import Chunk
from tynebase.rag.models import rag_chunks, rag_sources


@dataclass(frozen=True)
class Source:
    document_id: UUID
    tenant_id: UUID
    status: str
    pending_job_id: UUID | None
    last_job_id: UUID | None
    requested_at: datetime
    indexed_at: datetime | None
    indexed_version: int | None
    content_hash: str | None
    embedder: str | None
    chunk_count: int
    error: dict[str, Any] | None


SOURCE_COLUMNS = tuple(rag_sources.c[name] for name in Source.__dataclass_fields__)


async def get_source(
    conn: AsyncConnection, document_id: UUID, *, for_update: bool = False
) -> Source | None:
    query = sa.select(*SOURCE_COLUMNS).where(rag_sources.c.document_id == document_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return Source(**row._asdict()) if row else None


async def ensure_source(
    conn: AsyncConnection, *, tenant_id: UUID, document_id: UUID, lock: bool = True
) -> Source:
    """The source row, created (queued) if missing, locked for this transaction unless `lock`
    is false."""
    await conn.execute(
        pg_insert(rag_sources)
        .values(tenant_id=tenant_id, document_id=document_id)
        .on_conflict_do_nothing(index_elements=["document_id"])
    )
    source = await get_source(conn, document_id, for_update=lock)
    assert source is not None
    return source


async def update_source(conn: AsyncConnection, document_id: UUID, **values: Any) -> None:
    await conn.execute(
        rag_sources.update().where(rag_sources.c.document_id == document_id).values(**values)
    )


async def replace_chunks(
    conn: AsyncConnection,
    *,
    tenant_id: UUID,
    document_id: UUID,
    version_number: int,
    embedder: str,
    chunks: Sequence[Chunk],
    vectors: Sequence[Sequence[float]],
) -> None:
    await conn.execute(rag_chunks.delete().where(rag_chunks.c.document_id == document_id))
    rows = [
        {
            "tenant_id": tenant_id,
            "document_id": document_id,
            "version_number": version_number,
            "ordinal": chunk.ordinal,
            "heading": chunk.heading,
            "content": chunk.content,
            "embedder": embedder,
            "dims": len(vector),
            "embedding": list(vector),
        }
        for chunk, vector in zip(chunks, vectors, strict=True)
    ]
    if rows:
        await conn.execute(rag_chunks.insert(), rows)
