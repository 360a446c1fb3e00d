"""Semantic and hybrid document search (RAG-3 behind `GET /api/search?mode=...`).

semantic: documents ranked by their best chunk's cosine similarity to the query.
hybrid: that ranking and a full-text one fused by reciprocal rank. The full-text leg ranks the
documents whose indexed chunks hold every word of the query (`retrieval.keyword_documents`):
like mode=keyword's AND semantics, but within a passage, which is both more telling (nDCG@10
0.853 against 0.831 with the whole-document ranking on bench/retrieval/eval.py) and cheaper
(a query of common words matched 72% of 10,000 documents: 54 ms to rank them with ts_rank_cd,
against 8 ms for the 618 chunks holding all its words). Both legs read only what the caller may
read (the reading rule is applied inside each, and again when the page's documents are loaded)
and only the tenant's rows.

Pages come from one fused list of at most MAX_RESULTS documents; the cursor is an offset into
it, tied to the query and mode. Only the page's keyword hits are headlined (`page_hits`):
ts_headline re-parses text, and the fused list is several pages long.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.ai.providers.base import Embedder
from tynebase.auth.principal import Principal
from tynebase.documents.access import readable_clause
from tynebase.documents.models import documents
from tynebase.rag import retrieval
from tynebase.rag.retrieval import Passage
from tynebase.search import repo, snippets
from tynebase.search.query import ParsedQuery
from tynebase.search.repo import Hit

MAX_RESULTS = 100
# How deep each leg looks, the same for every page: a page is a slice of ONE fused list, so the
# lists fused must not depend on which page is asked for (or pages would repeat documents).
VECTOR_DEPTH = MAX_RESULTS  # nearest chunks
# Reciprocal rank fusion gives keyword hits below the first few dozen little weight.
KEYWORD_DEPTH = 25


@dataclass(frozen=True)
class Ranked:
    document_id: UUID
    score: float  # fused
    keyword: bool  # among keyword search's best: its snippet is a headline of the query
    passage: Passage | None  # the best chunk, for a snippet when keyword search has none


def _document_order(passages: list[Passage]) -> tuple[list[UUID], dict[UUID, Passage]]:
    best: dict[UUID, Passage] = {}
    for passage in passages:
        best.setdefault(passage.document_id, passage)
    return list(best), best


async def _load(
    conn: AsyncConnection, *, principal: Principal, tenant_id: UUID, ids: list[UUID]
) -> dict[UUID, Any]:
    d = documents
    query = sa.select(
        d.c.id,
        d.c.title,
        d.c.status,
        d.c.visibility,
        d.c.category_id,
        d.c.author_id,
        d.c.updated_at,
    ).where(d.c.id.in_(ids), d.c.tenant_id == tenant_id, readable_clause(principal))
    return {row.id: row for row in (await conn.execute(query)).all()}


async def rank_documents(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    parsed: ParsedQuery,
    text: str,
    mode: str,
    want: int,
    embedder: Embedder,
    ef_search: int,
) -> list[Ranked]:
    """The best `want` (at most MAX_RESULTS) documents for the query in `mode`."""
    want = min(want, MAX_RESULTS)
    # The embedder works in its own thread: the question is embedded while keyword search runs.
    embedding = asyncio.ensure_future(embedder.embed([text]))
    keyword: list[UUID] = []
    try:
        if mode == "hybrid" and not parsed.is_empty:
            keyword = await retrieval.keyword_documents(
                conn, principal=principal, tenant_id=tenant_id, parsed=parsed, limit=KEYWORD_DEPTH
            )
        (vector,) = await embedding
    finally:
        embedding.cancel()  # done already, unless keyword search failed
    passages = await retrieval.vector_search(
        conn,
        principal=principal,
        tenant_id=tenant_id,
        embedder=embedder,
        vector=vector,
        limit=VECTOR_DEPTH,
        ef_search=ef_search,
    )
    semantic_ids, best = _document_order(passages)
    scores = retrieval.rrf([semantic_ids, keyword] if keyword else [semantic_ids])
    ordered = sorted(scores, key=lambda i: (-scores[i], str(i)))[:want]
    found = set(keyword)
    return [Ranked(i, scores[i], i in found, best.get(i)) for i in ordered]


async def page_hits(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    parsed: ParsedQuery,
    page: list[Ranked],
) -> list[tuple[Hit, Passage | None]]:
    """The hits of one page of ranked documents (in order; those no longer readable left out):
    keyword hits headlined for the query, the others with the fields a result shows."""
    headlined = await repo.headlines(
        conn, principal=principal, parsed=parsed, ids=[r.document_id for r in page if r.keyword]
    )
    missing = [r.document_id for r in page if r.document_id not in headlined]
    rows = (
        await _load(conn, principal=principal, tenant_id=tenant_id, ids=missing) if missing else {}
    )
    hits: list[tuple[Hit, Passage | None]] = []
    for item in page:
        known = headlined.get(item.document_id)
        if known is not None:
            hits.append((replace(known, rank=item.score), item.passage))
            continue
        row = rows.get(item.document_id)
        if row is None:
            continue
        hit = Hit(
            id=row.id,
            title=row.title,
            title_headline=row.title,
            status=row.status,
            visibility=row.visibility,
            category_id=row.category_id,
            author_id=row.author_id,
            updated_at=row.updated_at,
            rank=item.score,
            headline="",
            window_start=1,
            window=None,
        )
        hits.append((hit, item.passage))
    return hits


def passage_snippet(passage: Passage | None) -> snippets.Snippet:
    """A snippet from the best chunk (plain text, no highlights): what made it match."""
    if passage is None:
        return snippets.Snippet("", ())
    text = " ".join(passage.content.split())
    if len(text) > snippets.MAX_SNIPPET_CHARS:
        text = text[: snippets.MAX_SNIPPET_CHARS - 1] + "…"
    return snippets.Snippet(text, ())
