"""The search statement: rank every readable match, then headline only the page it returns."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY as PG_ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.selectable import LateralFromClause, NamedFromClause

from tynebase.auth.principal import Principal
from tynebase.documents.access import readable_clause
from tynebase.documents.models import documents
from tynebase.search import snippets
from tynebase.search.query import ParsedQuery, parameters, tsquery

# ts_headline re-parses (and stems) every word it is given, so it gets a window of the body:
# from a little before the first place a query term occurs (looked for in a bounded prefix)
# onwards. Cheaper than a long prefix, and the snippet of a long document shows its match.
SNIPPET_SCAN_CHARS = 20_000
SNIPPET_WINDOW_CHARS = 1_200
SNIPPET_CONTEXT_CHARS = 160
# The terms of a tsquery as it prints: 'term', 'prefix':*, with '' for a quote in a term.
_QUERY_TERMS = r"'((?:[^']|'')+)'"
ENGLISH: sa.ColumnElement[object] = sa.literal_column("'english'::regconfig")
CUSTOM_PLANS = sa.select(sa.func.set_config("plan_cache_mode", "force_custom_plan", True))


@dataclass(frozen=True)
class Hit:
    id: UUID
    title: str
    title_headline: str
    status: str
    visibility: str
    category_id: UUID | None
    author_id: UUID | None
    updated_at: datetime
    rank: float
    headline: str
    window_start: int  # where (1-based) the text given to ts_headline starts in the body
    window: str | None  # that text, when the query has CJK terms (see snippets.build)


def _strip_markers(text: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    return sa.func.translate(text, snippets.MARKERS, "")


def _reader(role: str) -> Principal:
    # readable_clause only compares the reader's id in SQL, so a bound parameter stands in for
    # it and one statement serves every reader with this role.
    return Principal(
        user_id=cast(UUID, sa.bindparam("reader_id", type_=PG_UUID(as_uuid=True))),
        email="",
        name="",
        role=role,
        is_superadmin=False,
    )


def _query(*, latin: bool, cjk: bool) -> sa.Subquery:
    # A one-row subquery, not a CTE: the planner flattens it, so with the query text known it
    # folds the tsquery to a constant and estimates how many rows match (a CTE hides both).
    return sa.select(tsquery(latin=latin, cjk=cjk).label("query")).subquery("q")


def _ranking(q: sa.Subquery, *, role: str, paged: bool) -> sa.Select[Any]:
    """The readable matches' ids and ranks, best first, `limit` of them (after the `after` key
    when paged)."""
    rank = sa.func.ts_rank_cd(documents.c.search_vector, q.c.query, type_=sa.REAL)
    top = (
        sa.select(documents.c.id, rank.label("rank"))
        .select_from(documents.join(q, sa.true()))
        .where(documents.c.search_vector.bool_op("@@")(q.c.query), readable_clause(_reader(role)))
    )
    if paged:
        after_rank = sa.cast(sa.bindparam("after_rank", type_=sa.Float), sa.REAL)
        after_id = sa.bindparam("after_id", type_=PG_UUID(as_uuid=True))
        top = top.where(
            sa.or_(rank < after_rank, sa.and_(rank == after_rank, documents.c.id > after_id))
        )
    return top.order_by(rank.desc(), documents.c.id).limit(sa.bindparam("limit"))


def _hit_columns(
    d: NamedFromClause, q: sa.Subquery, *, cjk: bool
) -> tuple[list[sa.ColumnElement[Any]], LateralFromClause]:
    """A hit's columns but its rank: the document's fields, the highlighted title and the
    snippet's headline (the costly part: only for the rows returned), and the lateral window
    subquery they need joined."""
    # Stems are prefixes of most words ("deploy" of "deployments"), and CJK bigrams are text:
    # their first occurrence is found by plain search. Where none is found, the body's start.
    term = sa.func.regexp_matches(
        sa.cast(q.c.query, sa.Text), _QUERY_TERMS, "g", type_=PG_ARRAY(sa.Text)
    ).column_valued("term")
    first = sa.func.min(
        sa.func.nullif(
            sa.func.strpos(
                sa.func.lower(sa.func.left(d.c.body, SNIPPET_SCAN_CHARS)),
                sa.func.replace(term[1], "''", "'"),
            ),
            0,
        )
    )
    start = sa.func.greatest(sa.func.coalesce(first, 1) - SNIPPET_CONTEXT_CHARS, 1)
    window = sa.select(start.label("start")).correlate(d, q).lateral("window")
    body = _strip_markers(sa.func.substr(d.c.body, window.c.start, SNIPPET_WINDOW_CHARS))
    title_headline = sa.func.ts_headline(
        ENGLISH,
        _strip_markers(d.c.title),
        q.c.query,
        f"HighlightAll=true, StartSel={snippets.START}, StopSel={snippets.STOP}",
    )
    columns: list[sa.ColumnElement[Any]] = [
        d.c.id,
        d.c.title,
        title_headline.label("title_headline"),
        d.c.status,
        d.c.visibility,
        d.c.category_id,
        d.c.author_id,
        d.c.updated_at,
        sa.func.ts_headline(ENGLISH, body, q.c.query, snippets.HEADLINE_OPTIONS).label("headline"),
        window.c.start.label("window_start"),
        (body if cjk else sa.null()).label("window"),
    ]
    return columns, window


@functools.cache
def _statement(*, role: str, latin: bool, cjk: bool, paged: bool) -> sa.Select[*tuple[Any, ...]]:
    """The statement for one shape of request, built once: values are bound parameters."""
    q = _query(latin=latin, cjk=cjk)
    page = _ranking(q, role=role, paged=paged).subquery("top")
    d = documents.alias("d")
    columns, window = _hit_columns(d, q, cjk=cjk)
    return (
        sa.select(*columns, page.c.rank)
        .select_from(page.join(d, d.c.id == page.c.id).join(q, sa.true()).join(window, sa.true()))
        .order_by(page.c.rank.desc(), page.c.id)
    )


@functools.cache
def _headlines_statement(*, role: str, latin: bool, cjk: bool) -> sa.Select[Any]:
    q = _query(latin=latin, cjk=cjk)
    d = documents
    columns, window = _hit_columns(d, q, cjk=cjk)
    ids = sa.bindparam("ids", type_=PG_ARRAY(PG_UUID(as_uuid=True)))
    return (
        sa.select(*columns, sa.literal(0.0, sa.REAL).label("rank"))
        .select_from(d.join(q, sa.true()).join(window, sa.true()))
        .where(d.c.id == sa.func.any(ids), readable_clause(_reader(role)))
    )


def statement(
    *,
    principal: Principal,
    parsed: ParsedQuery,
    limit: int,
    after: tuple[float, UUID] | None = None,
) -> tuple[sa.Select[*tuple[Any, ...]], dict[str, Any]]:
    """`limit` hits the caller may read, best first (rank, then id), after the `after` key:
    the statement and its parameters."""
    query = _statement(
        role=principal.role, latin=bool(parsed.latin), cjk=bool(parsed.cjk_runs), paged=bool(after)
    )
    params: dict[str, Any] = {"reader_id": principal.user_id, "limit": limit}
    params.update(parameters(parsed))
    if after is not None:
        params["after_rank"], params["after_id"] = after
    return query, params


async def search(
    conn: AsyncConnection,
    *,
    principal: Principal,
    parsed: ParsedQuery,
    limit: int,
    after: tuple[float, UUID] | None = None,
) -> list[Hit]:
    query, params = statement(principal=principal, parsed=parsed, limit=limit, after=after)
    # The statement text repeats, so the driver prepares it and PostgreSQL may switch to a
    # generic plan: one that cannot see the query text, misjudges how many rows match and
    # rebuilds the tsquery for every row. A plan per search costs ~0.3 ms and saves more.
    await conn.execute(CUSTOM_PLANS)
    rows = (await conn.execute(query, params)).all()
    return [Hit(**row._asdict()) for row in rows]


async def headlines(
    conn: AsyncConnection, *, principal: Principal, parsed: ParsedQuery, ids: list[UUID]
) -> dict[UUID, Hit]:
    """The hits (rank 0) of these readable documents, headlined for the query."""
    if not ids:
        return {}
    query = _headlines_statement(
        role=principal.role, latin=bool(parsed.latin), cjk=bool(parsed.cjk_runs)
    )
    params: dict[str, Any] = {"reader_id": principal.user_id, "ids": ids}
    params.update(parameters(parsed))
    await conn.execute(CUSTOM_PLANS)
    rows = (await conn.execute(query, params)).all()
    return {row.id: Hit(**row._asdict()) for row in rows}
