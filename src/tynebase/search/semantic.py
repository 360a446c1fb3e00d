"""Semantic and hybrid document search (RAG-3 behind `GET /api/search?mode=...`).

semantic: documents ranked by their best chunk's cosine similarity to the query.
hybrid: that ranking and keyword search's (the same statement as mode=keyword) fused by
reciprocal rank. Both read only what the caller may read (the reading rule is applied inside
each leg, and again when the page's documents are loaded) and only the tenant's rows.

Pages come from one fused list of at most MAX_RESULTS documents; the cursor is an offset into
it, tied to the query and mode.
"""

from __future__ import annotations

from dataclasses import dataclass
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
# Keyword hits are headlined (the costly part), and reciprocal rank fusion gives hits below the
# first few dozen little weight anyway.
KEYWORD_DEPTH = 25


@dataclass(frozen=True)
class Ranked:
    hit: Hit
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
    (vector,) = await embedder.embed([text])
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
    keyword_hits: dict[UUID, Hit] = {}
    rankings = [semantic_ids]
    if mode == "hybrid" and not parsed.is_empty:
        hits = await repo.search(conn, principal=principal, parsed=parsed, limit=KEYWORD_DEPTH)
        keyword_hits = {hit.id: hit for hit in hits}
        rankings.append([hit.id for hit in hits])
    scores = retrieval.rrf(rankings)
    ordered = sorted(scores, key=lambda i: (-scores[i], str(i)))[:want]
    missing = [i for i in ordered if i not in keyword_hits]
    rows = await _load(conn, principal=principal, tenant_id=tenant_id, ids=missing)
    ranked: list[Ranked] = []
    for document_id in ordered:
        score = scores[document_id]
        if document_id in keyword_hits:
            hit = keyword_hits[document_id]
            ranked.append(Ranked(Hit(**{**hit.__dict__, "rank": score}), best.get(document_id)))
            continue
        row = rows.get(document_id)
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
            rank=score,
            headline="",
            window_start=1,
            window=None,
        )
        ranked.append(Ranked(hit, best.get(document_id)))
    return ranked


def passage_snippet(passage: Passage | None) -> snippets.Snippet:
    """A snippet from the best chunk (plain text, no highlights): what made it match."""
    if passage is None:
        return snippets.Snippet("", ())
    text = " ".join(passage.content.split())
    if len(text) > snippets.MAX_SNIPPET_CHARS:
        text = text[: snippets.MAX_SNIPPET_CHARS - 1] + "…"
    return snippets.Snippet(text, ())
