"""Hybrid retrieval (RAG-3): full-text and vector candidates fused by reciprocal rank, always
limited to the tenant (explicitly and by RLS) and to what the caller may read
(`documents.access.readable_clause`, the rule keyword search and lists use).

Vectors: the HNSW index answers first (`hnsw.ef_search` candidates, then the tenant and
reading filters). When that leaves fewer than asked for, the index is asked again with a wider
beam (4x, up to pgvector's 1000); when even that falls short (a small tenant in a big shared
index, or a reader who may see little), an exact scan of the tenant's own chunks answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pgvector.sqlalchemy import VECTOR
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.ai.providers.base import Embedder
from tynebase.auth.principal import Principal
from tynebase.documents.access import readable_clause
from tynebase.documents.models import document_versions, documents
from tynebase.rag.models import INDEXED_DIMENSIONS, rag_chunks
from tynebase.search.query import ParsedQuery, parameters, tsquery

RRF_K = 60  # the usual constant of reciprocal rank fusion (Cormack et al.)
CANDIDATES = 50
HNSW_MAX_EF_SEARCH = 1000  # pgvector's upper bound for hnsw.ef_search


@dataclass(frozen=True)
class Passage:
    chunk_id: UUID
    document_id: UUID
    version_number: int
    title: str
    heading: str
    content: str
    similarity: float | None = None  # cosine similarity to the question, when a vector hit
    keyword_rank: float | None = None  # ts_rank when a full-text hit
    keyword_all_terms: bool = False  # the chunk holds every query term
    score: float = 0.0  # fused
    sources: tuple[str, ...] = field(default=())


def rrf(rankings: Sequence[Sequence[Any]], *, k: int = RRF_K) -> dict[Any, float]:
    """Reciprocal rank fusion of several best-first lists of keys: sum of 1 / (k + rank)."""
    scores: dict[Any, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, 1):
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
    return scores


def _chunk_columns(c: sa.Table) -> list[sa.ColumnElement[Any]]:
    return [
        c.c.id.label("chunk_id"),
        c.c.document_id,
        c.c.version_number,
        documents.c.title,
        c.c.heading,
        c.c.content,
    ]


def _base(principal: Principal, tenant_id: UUID) -> tuple[sa.Table, list[sa.ColumnElement[bool]]]:
    c = rag_chunks
    return c, [
        c.c.tenant_id == tenant_id,
        documents.c.tenant_id == tenant_id,
        readable_clause(principal),
    ]


async def vector_search(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    embedder: Embedder,
    vector: Sequence[float],
    limit: int = CANDIDATES,
    ef_search: int = 100,
    exact: bool | None = None,
) -> list[Passage]:
    """The readable chunks nearest to `vector` (cosine), best first. `exact`: None tries HNSW
    then falls back to the exact scan; True/False forces one."""
    dims = embedder.dimensions
    c, where = _base(principal, tenant_id)
    where += [c.c.embedder == embedder.name, c.c.dims == dims]
    q = sa.bindparam("q", list(vector), type_=VECTOR(dims))
    indexed = sa.cast(c.c.embedding, VECTOR(dims))
    results: list[Passage] = []
    if exact is not True and dims in INDEXED_DIMENSIONS:
        distance = indexed.op("<=>", return_type=sa.Float)(q)
        query = (
            sa.select(*_chunk_columns(c), (1 - distance).label("similarity"))
            .select_from(c.join(documents, documents.c.id == c.c.document_id))
            .where(*where)
            .order_by(distance)
            .limit(limit)
        )
        for ef in _beams(ef_search, limit):
            await conn.execute(sa.select(sa.func.set_config("hnsw.ef_search", str(ef), True)))
            results = [_passage(row, "vector") for row in (await conn.execute(query)).all()]
            if len(results) >= limit:
                return results
        if exact is False:
            return results
    # Exact: order by the column itself, which no index covers, over the tenant's chunks.
    distance = c.c.embedding.op("<=>", return_type=sa.Float)(q)
    query = (
        sa.select(*_chunk_columns(c), (1 - distance).label("similarity"))
        .select_from(c.join(documents, documents.c.id == c.c.document_id))
        .where(*where)
        .order_by(distance)
        .limit(limit)
    )
    return [_passage(row, "vector") for row in (await conn.execute(query)).all()]


def _beams(ef_search: int, limit: int) -> list[int]:
    """The hnsw.ef_search values to try in turn: the configured one, then wider ones.

    The index yields at most ef_search nearest chunks of the whole table; those of other tenants
    or unreadable are filtered out afterwards, so a big tenant sharing the index can come out a
    few short (1 query in 20 at 100k of 160k chunks). A 4x wider beam costs a few ms; the exact
    scan of a 100k-chunk tenant ~300 ms.
    """
    first = min(max(ef_search, limit), HNSW_MAX_EF_SEARCH)
    beams = [first]
    while beams[-1] < HNSW_MAX_EF_SEARCH:
        beams.append(min(beams[-1] * 4, HNSW_MAX_EF_SEARCH))
    return beams


def _passage(row: Any, source: str) -> Passage:
    values = row._asdict()
    return Passage(
        chunk_id=values["chunk_id"],
        document_id=values["document_id"],
        version_number=values["version_number"],
        title=values["title"],
        heading=values["heading"],
        content=values["content"],
        similarity=float(values["similarity"]) if values.get("similarity") is not None else None,
        keyword_rank=float(values["rank"]) if values.get("rank") is not None else None,
        keyword_all_terms=bool(values.get("all_terms", False)),
        sources=(source,),
    )


# A term of a printed tsquery: optional negation, the quoted lexeme ('' for a quote), prefix.
_TERM = re.compile(r"(!?)'((?:[^']|'')+)'(:\*)?")


async def any_terms(conn: AsyncConnection, parsed: ParsedQuery) -> str | None:
    """The query's terms OR-ed, as `to_tsquery('simple', ...)` text (None: no term). Keyword
    search demands every word; a passage that answers a question often holds only some."""
    terms: list[str] = []
    if parsed.latin:
        english: sa.ColumnElement[Any] = sa.literal_column("'english'::regconfig")
        printed = (
            await conn.execute(
                sa.select(sa.cast(sa.func.websearch_to_tsquery(english, parsed.latin), sa.Text))
            )
        ).scalar_one()
        for negated, lexeme, prefix in _TERM.findall(printed):
            if not negated:  # a negated word would match nearly everything once OR-ed
                terms.append(f"'{lexeme}'{prefix}")
    terms.extend(f"'{t}'" for t in parsed.cjk_terms)
    return " | ".join(dict.fromkeys(terms)) or None


async def keyword_search(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    parsed: ParsedQuery,
    limit: int = CANDIDATES,
) -> list[Passage]:
    """Readable chunks holding some of the query's words, best first (ts_rank, which grows
    with how many of them and how often); `keyword_all_terms` marks those with every word."""
    if parsed.is_empty:
        return []
    anyq = await any_terms(conn, parsed)
    if anyq is None:
        return []
    c, where = _base(principal, tenant_id)
    simple: sa.ColumnElement[Any] = sa.literal_column("'simple'::regconfig")
    q = sa.select(
        sa.type_coerce(sa.func.to_tsquery(simple, anyq), TSQUERY).label("anyq"),
        tsquery(latin=bool(parsed.latin), cjk=bool(parsed.cjk_runs)).label("allq"),
    ).subquery("q")
    rank = sa.func.ts_rank(c.c.search_vector, q.c.anyq, 1, type_=sa.Float)
    query = (
        sa.select(
            *_chunk_columns(c),
            rank.label("rank"),
            c.c.search_vector.bool_op("@@")(q.c.allq).label("all_terms"),
        )
        .select_from(c.join(documents, documents.c.id == c.c.document_id).join(q, sa.true()))
        .where(*where, c.c.search_vector.bool_op("@@")(q.c.anyq))
        .order_by(rank.desc(), c.c.id)
        .limit(limit)
    )
    rows = (await conn.execute(query, parameters(parsed))).all()
    return [_passage(row, "keyword") for row in rows]


async def keyword_documents(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    parsed: ParsedQuery,
    limit: int,
) -> list[UUID]:
    """Readable documents with a chunk holding every word of the query (keyword search's
    tsquery), best first: by their best chunk's ts_rank_cd."""
    if parsed.is_empty:
        return []
    c, where = _base(principal, tenant_id)
    q = sa.select(
        tsquery(latin=bool(parsed.latin), cjk=bool(parsed.cjk_runs)).label("query")
    ).subquery("q")
    rank = sa.func.max(sa.func.ts_rank_cd(c.c.search_vector, q.c.query, type_=sa.REAL))
    query = (
        sa.select(c.c.document_id)
        .select_from(c.join(documents, documents.c.id == c.c.document_id).join(q, sa.true()))
        .where(*where, c.c.search_vector.bool_op("@@")(q.c.query))
        .group_by(c.c.document_id)
        .order_by(rank.desc(), c.c.document_id)
        .limit(limit)
    )
    # A plan for this query's text (see search.repo.search: a generic plan cannot see it).
    await conn.execute(sa.select(sa.func.set_config("plan_cache_mode", "force_custom_plan", True)))
    return list((await conn.execute(query, parameters(parsed))).scalars())


async def hybrid_passages(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    parsed: ParsedQuery,
    question: str,
    embedder: Embedder,
    limit: int,
    ef_search: int = 100,
    candidates: int = CANDIDATES,
) -> list[Passage]:
    """The best `limit` readable passages for `question`: keyword and vector lists fused."""
    (vector,) = await embedder.embed([question])
    by_vector = await vector_search(
        conn,
        principal=principal,
        tenant_id=tenant_id,
        embedder=embedder,
        vector=vector,
        limit=candidates,
        ef_search=ef_search,
    )
    by_keyword = await keyword_search(
        conn, principal=principal, tenant_id=tenant_id, parsed=parsed, limit=candidates
    )
    return fuse(by_vector, by_keyword)[:limit]


def fuse(*lists: Sequence[Passage]) -> list[Passage]:
    """One list of passages, best fused score first, each passage once with what every list
    knew of it."""
    merged: dict[UUID, Passage] = {}
    for ranking in lists:
        for passage in ranking:
            known = merged.get(passage.chunk_id)
            if known is None:
                merged[passage.chunk_id] = passage
                continue
            merged[passage.chunk_id] = replace(
                known,
                similarity=known.similarity if known.similarity is not None else passage.similarity,
                keyword_rank=known.keyword_rank
                if known.keyword_rank is not None
                else passage.keyword_rank,
                sources=known.sources + passage.sources,
            )
    scores = rrf([[p.chunk_id for p in ranking] for ranking in lists])
    ordered = sorted(merged.values(), key=lambda p: (-scores[p.chunk_id], str(p.chunk_id)))
    return [replace(p, score=scores[p.chunk_id]) for p in ordered]


async def version_ids(
    conn: AsyncConnection, keys: Sequence[tuple[UUID, int]]
) -> dict[tuple[UUID, int], UUID]:
    """The version row ids of (document, version number) pairs (for citations)."""
    if not keys:
        return {}
    v = document_versions
    query = sa.select(v.c.document_id, v.c.number, v.c.id).where(
        sa.tuple_(v.c.document_id, v.c.number).in_(list(set(keys)))
    )
    return {(r.document_id, r.number): r.id for r in (await conn.execute(query)).all()}
