"""Keeping the index in step with the documents (RAG-2).

Every change a reader could see (create, edit, publish, restore, collaborative save, delete)
calls `do_request_index` in the same transaction. It queues one `rag.index_document` job per
document and reuses a job that is still queued, so a burst of saves costs one indexing run. The
job clears that marker as it starts (committed at once), so an edit made while it runs queues the
next run instead of being lost. Deleting a document deletes its chunks and source row with it
(foreign keys), in the same transaction.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.consents.service import check_consent
from tynebase.documents import repo as documents_repo
from tynebase.jobs import repo as jobs_repo
from tynebase.jobs import service as jobs_service
from tynebase.jobs.registry import JobContext
from tynebase.rag import repo
from tynebase.rag.chunking import chunk_document
from tynebase.rag.embedders import loaded_embedder

INDEX_KIND = "rag.index_document"
REINDEX_ALL_KIND = "rag.reindex_all"


async def do_request_index(
    conn: AsyncConnection, *, tenant_id: UUID, document_id: UUID, requested_by: UUID | None
) -> UUID:
    """Queue (or reuse the queued) indexing job of a document, in the caller's transaction;
    returns its job id."""
    source = await repo.ensure_source(conn, tenant_id=tenant_id, document_id=document_id)
    if source.pending_job_id is not None:
        job = await jobs_repo.get_job(conn, source.pending_job_id)
        if job is not None and job.status == "queued":
            await repo.update_source(conn, document_id, requested_at=sa.func.now())
            return job.id
    job = await jobs_service.do_enqueue(
        conn,
        tenant_id=tenant_id,
        kind=INDEX_KIND,
        payload={"document_id": str(document_id)},
        created_by=requested_by,
    )
    values: dict[str, Any] = {"pending_job_id": job.id, "requested_at": sa.func.now()}
    if source.status == "failed" or source.indexed_at is None:
        values["status"] = "queued"
    await repo.update_source(conn, document_id, **values)
    return job.id


def content_hash(embedder: str, title: str, body: str) -> str:
    digest = hashlib.sha256()
    for part in (embedder, title, body):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


async def _mark_started(ctx: JobContext, document_id: UUID) -> None:
    async with ctx.db.unit_of_work(ctx.tenant_id) as conn:
        await conn.execute(
            sa.text(
                "UPDATE rag_sources SET pending_job_id = NULL "
                "WHERE document_id = :d AND pending_job_id = :j"
            ),
            {"d": document_id, "j": ctx.job_id},
        )


async def _record_failure(ctx: JobContext, document_id: UUID, exc: BaseException) -> None:
    from tynebase.jobs.registry import error_of

    async with ctx.db.unit_of_work(ctx.tenant_id) as conn:
        await conn.execute(
            sa.text(
                "UPDATE rag_sources SET status = 'failed', error = CAST(:e AS jsonb), "
                "last_job_id = :j WHERE document_id = :d"
            ),
            {"d": document_id, "j": ctx.job_id, "e": _json(error_of(exc))},
        )


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


async def run_index(ctx: JobContext) -> dict[str, Any]:
    """Chunk, embed and store one document (or note that it is gone or unchanged)."""
    document_id = UUID(ctx.payload["document_id"])
    await _mark_started(ctx, document_id)
    # One indexing run per document at a time: two runs would each delete and insert chunks.
    await ctx.conn.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(str(document_id), 0)))
    )
    try:
        return await _index(ctx, document_id)
    except Exception as exc:
        await _record_failure(ctx, document_id, exc)
        raise


async def _index(ctx: JobContext, document_id: UUID) -> dict[str, Any]:
    conn = ctx.conn
    document = await documents_repo.get(conn, document_id)
    if document is None:
        return {"document_id": str(document_id), "deleted": True}
    embedder = await loaded_embedder(ctx.settings.rag_embedder)
    # Not locked: the advisory lock above already makes index runs of a document take turns,
    # and holding the row through the embedding made a publish (documents row, then this one)
    # deadlock with this job (this one, then the rows its chunks refer to).
    source = await repo.ensure_source(
        conn, tenant_id=ctx.tenant_id, document_id=document_id, lock=False
    )
    if document.author_id is not None and not await check_consent(
        conn, document.author_id, "knowledge_indexing"
    ):
        # The author refused knowledge indexing (GDPR-2): nothing of theirs stays indexed.
        await repo.replace_chunks(
            conn,
            tenant_id=ctx.tenant_id,
            document_id=document_id,
            version_number=document.current_version,
            embedder=embedder.name,
            chunks=[],
            vectors=[],
        )
        await repo.update_source(
            conn,
            document_id,
            status="failed",
            chunk_count=0,
            content_hash=None,
            last_job_id=ctx.job_id,
            error={
                "code": "CONSENT_REQUIRED",
                "message": "The author has refused knowledge indexing",
            },
        )
        return {"document_id": str(document_id), "skipped": "CONSENT_REQUIRED"}
    digest = content_hash(embedder.name, document.title, document.body)
    done = {
        "status": "ok",
        "indexed_at": sa.func.now(),
        "indexed_version": document.current_version,
        "error": None,
        "last_job_id": ctx.job_id,
    }
    if source.status == "ok" and source.content_hash == digest:
        await conn.execute(
            sa.text(
                "UPDATE rag_chunks SET version_number = :v "
                "WHERE document_id = :d AND version_number <> :v"
            ),
            {"d": document_id, "v": document.current_version},
        )
        await repo.update_source(conn, document_id, **done)
        return {"document_id": str(document_id), "unchanged": True, "chunks": source.chunk_count}
    started = time.perf_counter()
    chunks = chunk_document(document.title, document.body)
    vectors = await embedder.embed([chunk.text for chunk in chunks])
    await repo.replace_chunks(
        conn,
        tenant_id=ctx.tenant_id,
        document_id=document_id,
        version_number=document.current_version,
        embedder=embedder.name,
        chunks=chunks,
        vectors=vectors,
    )
    await repo.update_source(
        conn,
        document_id,
        **done,
        content_hash=digest,
        embedder=embedder.name,
        chunk_count=len(chunks),
    )
    return {
        "document_id": str(document_id),
        "version": document.current_version,
        "chunks": len(chunks),
        "seconds": round(time.perf_counter() - started, 3),
    }


async def run_reindex_all(ctx: JobContext) -> dict[str, Any]:
    """Queue an indexing run for every document of the tenant (coalesced as usual)."""
    ids = list((await ctx.conn.execute(sa.text("SELECT id FROM documents"))).scalars())
    for number, document_id in enumerate(ids, 1):
        await do_request_index(
            ctx.conn, tenant_id=ctx.tenant_id, document_id=document_id, requested_by=ctx.created_by
        )
        if number % 500 == 0:
            await ctx.report(int(100 * number / len(ids)), f"{number} of {len(ids)} queued")
    return {"documents": len(ids)}
