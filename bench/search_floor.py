"""The floor for bench/search.py and bench/documents_list.py: the app's own SQL, raw.

A raw ASGI callable on the same uvicorn settings as bench/floor.py (whose connection pool it
reuses: a fixed set of psycopg 3 async connections, app role, tenant pinned per connection, so
row-level security applies and a request is exactly one round trip). For each request it runs
the statement the app runs for the same request, compiled once at start from the app's own
query builder (tynebase.search.repo.statement, or tynebase.documents.repo.list_query), and
returns the rows as JSON. What the app adds on top (auth, tenant lookup, transaction, snippet
post-processing, response models) is what the ratio measures.

    python bench/search_floor.py --port P --dsn DSN --tenant-id T --user-id U --role viewer \
        --kind search --paths-file F
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import psycopg
from sqlalchemy.dialects.postgresql import psycopg as pg_dialect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from floor import Pool, lifespan, send_json, serve
from tynebase.auth.principal import Principal


def compile_statement(
    statement: Any, params: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    compiled = statement.compile(dialect=pg_dialect.dialect())
    return str(compiled), {**compiled.params, **(params or {})}


def search_statements(paths: list[str], principal: Principal, limit: int) -> dict[str, Any]:
    from tynebase.search import repo
    from tynebase.search.query import parse

    out = {}
    for path in paths:
        q = parse_qs(urlsplit(path).query)["q"][0]
        # The app asks for one row more than it returns, to know whether a next page exists.
        out[path] = compile_statement(
            *repo.statement(principal=principal, parsed=parse(q.strip()), limit=limit + 1)
        )
    return out


def list_statements(
    paths: list[str], principal: Principal, tenant_id: uuid.UUID, limit: int
) -> dict[str, Any]:
    from tynebase.documents import cursor, repo

    out = {}
    for path in paths:
        token = parse_qs(urlsplit(path).query).get("cursor", [None])[0]
        after = cursor.decode_time_id(token) if token else None
        out[path] = compile_statement(
            repo.list_query(
                principal=principal,
                tenant_id=tenant_id,
                filters=repo.ListFilters(),
                after=after,
                limit=limit + 1,
            )
        )
    return out


class QueryPool(Pool):
    custom_plans = False

    async def open(self) -> None:
        options = f"-c app.tenant_id={self.tenant_id}"
        if self.custom_plans:
            # As the app does per search (tynebase.search.repo): a plan per query, never a
            # generic one; here once per pinned connection.
            options += " -c plan_cache_mode=force_custom_plan"
        for _ in range(self.size):
            conn = await psycopg.AsyncConnection.connect(
                self.dsn, autocommit=True, application_name="tynebase-floor", options=options
            )
            self._all.append(conn)
            self._idle.put_nowait(conn)

    async def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        conn = await self._idle.get()
        try:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()
        finally:
            self._idle.put_nowait(conn)


def make_app(pool: QueryPool, statements: dict[str, tuple[str, dict[str, Any]]]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(pool, receive, send)
        if scope["type"] != "http":
            return
        path = scope["path"] + (
            "?" + scope["query_string"].decode() if scope["query_string"] else ""
        )
        statement = statements.get(path)
        if statement is None:
            status, body = 404, b'{"error":{"code":"NOT_FOUND"}}'
        else:
            rows = await pool.rows(*statement)
            status, body = 200, orjson.dumps({"items": [list(r) for r in rows]}, default=str)
        await send_json(send, status, body)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True, help="libpq URL of the app role")
    parser.add_argument("--tenant-id", required=True)
    parser.add_argument("--user-id", required=True)
    parser.add_argument("--role", default="viewer")
    parser.add_argument("--kind", choices=("search", "list"), required=True)
    parser.add_argument("--paths-file", required=True)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--pool-size", type=int, default=10)
    args = parser.parse_args()
    principal = Principal(
        user_id=uuid.UUID(args.user_id), email="", name="", role=args.role, is_superadmin=False
    )
    paths = [p for p in Path(args.paths_file).read_text().splitlines() if p]
    tenant_id = uuid.UUID(args.tenant_id)
    statements = (
        search_statements(paths, principal, args.limit)
        if args.kind == "search"
        else list_statements(paths, principal, tenant_id, args.limit)
    )
    pool = QueryPool(args.dsn, args.pool_size, str(tenant_id))
    pool.custom_plans = args.kind == "search"
    serve(make_app(pool, statements), args.port)


if __name__ == "__main__":
    main()
