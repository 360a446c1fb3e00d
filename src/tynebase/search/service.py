"""Keyword search (DOC-8): validate the request, run it, turn hits into safe snippets."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.ai.providers.base import Embedder
from tynebase.auth.principal import Principal
from tynebase.errors import ValidationFailed
from tynebase.search import repo, semantic, snippets
from tynebase.search.query import MAX_QUERY_CHARS, ParsedQuery, parse
from tynebase.search.repo import Hit

MODES = ("keyword", "semantic", "hybrid")
DEFAULT_LIMIT, MAX_LIMIT = 20, 50


@dataclass(frozen=True)
class Result:
    hit: Hit
    title_highlights: tuple[tuple[int, int], ...]
    snippet: snippets.Snippet


@dataclass(frozen=True)
class Page:
    results: list[Result]
    next_cursor: str | None


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValidationFailed(
            f"Unknown search mode {mode!r}; use one of {', '.join(MODES)}",
            code="SEARCH_MODE_UNAVAILABLE",
            details={"mode": mode, "available": list(MODES)},
        )


def check_query(text: str) -> ParsedQuery:
    text = text.strip()
    # NUL cannot be stored or searched in PostgreSQL text: refuse it as input, not a 500.
    if not text or len(text) > MAX_QUERY_CHARS or "\x00" in text:
        raise ValidationFailed(
            f"The query must have 1 to {MAX_QUERY_CHARS} characters (and no NUL)",
            details={"field": "q", "max": MAX_QUERY_CHARS},
        )
    return parse(text)


def _query_tag(parsed: ParsedQuery) -> str:
    """Ties a cursor to its query: a cursor sent with another query is refused, not misread."""
    key = json.dumps([parsed.latin, parsed.cjk_runs], ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def encode_cursor(parsed: ParsedQuery, rank: float, document_id: UUID) -> str:
    raw = json.dumps([_query_tag(parsed), rank, str(document_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def check_cursor(parsed: ParsedQuery, cursor: str) -> tuple[float, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, rank, document_id = json.loads(raw)
        if tag != _query_tag(parsed):
            raise ValueError("cursor of another query")
        return float(rank), UUID(document_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed(
            "This cursor is not valid for this query; start again from the first page",
            code="INVALID_CURSOR",
            details={"field": "cursor"},
        ) from None


def _title_highlights(hit: Hit, parsed: ParsedQuery) -> tuple[tuple[int, int], ...]:
    marked = snippets.build(hit.title_headline, cjk_terms=parsed.cjk_terms, source=None)
    # A title that itself held the marker characters reads differently: no offsets then.
    return marked.highlights if marked.text == hit.title else ()


async def search_documents(
    conn: AsyncConnection,
    *,
    principal: Principal,
    text: str,
    mode: str = "keyword",
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """One page of the documents the caller may read that match `text`, best first."""
    check_mode(mode)
    parsed = check_query(text)
    after = check_cursor(parsed, cursor) if cursor else None
    if parsed.is_empty:  # only punctuation: nothing can match
        return Page(results=[], next_cursor=None)
    hits = await repo.search(conn, principal=principal, parsed=parsed, limit=limit + 1, after=after)
    more = len(hits) > limit
    hits = hits[:limit]
    results = [
        Result(
            hit=hit,
            title_highlights=_title_highlights(hit, parsed),
            snippet=snippets.build(
                hit.headline,
                cjk_terms=parsed.cjk_terms,
                source=hit.window,
                mid_text=hit.window_start > 1,
            ),
        )
        for hit in hits
    ]
    last = hits[-1] if more else None
    return Page(
        results=results,
        next_cursor=encode_cursor(parsed, last.rank, last.id) if last else None,
    )


def encode_offset_cursor(parsed: ParsedQuery, mode: str, offset: int) -> str:
    raw = json.dumps([_query_tag(parsed), mode, offset]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def check_offset_cursor(parsed: ParsedQuery, mode: str, cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tag, cursor_mode, offset = json.loads(raw)
        if tag != _query_tag(parsed) or cursor_mode != mode or not isinstance(offset, int):
            raise ValueError("cursor of another query")
        if not 0 < offset < semantic.MAX_RESULTS:
            raise ValueError("offset out of range")
        return offset
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed(
            "This cursor is not valid for this query; start again from the first page",
            code="INVALID_CURSOR",
            details={"field": "cursor"},
        ) from None


async def search_ranked(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    text: str,
    mode: str,
    embedder: Embedder,
    ef_search: int,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> Page:
    """semantic / hybrid search (RAG-3): one page of the readable documents, best first."""
    check_mode(mode)
    parsed = check_query(text)
    offset = check_offset_cursor(parsed, mode, cursor) if cursor else 0
    ranked = await semantic.rank_documents(
        conn,
        principal=principal,
        tenant_id=tenant_id,
        parsed=parsed,
        text=text.strip(),
        mode=mode,
        want=offset + limit + 1,
        embedder=embedder,
        ef_search=ef_search,
    )
    page = await semantic.page_hits(
        conn,
        principal=principal,
        tenant_id=tenant_id,
        parsed=parsed,
        page=ranked[offset : offset + limit],
    )
    results = []
    for hit, passage in page:
        if hit.headline:
            snippet = snippets.build(
                hit.headline,
                cjk_terms=parsed.cjk_terms,
                source=hit.window,
                mid_text=hit.window_start > 1,
            )
            title_highlights = _title_highlights(hit, parsed)
        else:
            snippet, title_highlights = semantic.passage_snippet(passage), ()
        results.append(Result(hit=hit, title_highlights=title_highlights, snippet=snippet))
    more = len(ranked) > offset + limit and offset + limit < semantic.MAX_RESULTS
    return Page(
        results=results,
        next_cursor=encode_offset_cursor(parsed, mode, offset + limit) if more else None,
    )
