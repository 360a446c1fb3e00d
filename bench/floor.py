"""The floor for bench/api.py: the least a Python server can do for the same read.

A raw ASGI callable (no framework, no middleware) served by the same uvicorn as `tynebase serve`
(uvloop + httptools, one worker, no access log). Each request takes a connection from a fixed pool
of psycopg 3 async connections (app role, so row-level security applies), runs ONE SELECT of the
member row (memberships JOIN users, the query `GET /api/users/{id}` ends with) and returns it as
JSON. The tenant is pinned per connection at connect time (`-c app.tenant_id=...`), so a request is
exactly one database round trip: the cheapest correct tenant-scoped read.

Run by bench/api.py:
    BENCH_FLOOR_DSN=... python bench/floor.py --port P --tenant-id T --user-id U --pool-size N
and, for `bench/api.py --decompose`, with `--shape app --session-id S` (see TENANT_SQL).

`--shape fastapi` is the framework's own floor: the same pool and the same ONE SELECT behind a
minimal FastAPI app (one route with a typed path parameter, one yield dependency, a pydantic
response model; no middleware, no auth). What FastAPI itself costs per request on this machine,
measured in the same run, so the app's ratio can be read against what the framework allows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import orjson
import psycopg
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel

MEMBER_SQL = (
    "SELECT u.id AS user_id, u.email, u.name, m.role, m.status, m.created_at AS joined_at "
    "FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.user_id = %s"
)
COLUMNS = ("user_id", "email", "name", "role", "status", "joined_at")

# --shape app: the statements and transaction the app runs for the same requests (compiled from
# tenants/repo.py get_and_enter, auth/repo.py session_principal_row, users/repo.py get_member),
# still raw psycopg + raw ASGI. The gap app - this is framework, ORM and app code; the gap
# this - the one-query floor is the extra round trips.
TENANT_SQL = (
    "SELECT tenants.id, tenants.subdomain, tenants.name, tenants.tier, tenants.status, "
    "tenants.settings, set_config(%s::VARCHAR, CAST(tenants.id AS TEXT), %s) AS entered "
    "FROM tenants WHERE tenants.subdomain = %s::VARCHAR"
)
PRINCIPAL_SQL = (
    "SELECT users.id AS user_id, users.email, users.name, users.status AS user_status, "
    "users.is_superadmin, memberships.role, memberships.status AS member_status, "
    "auth_sessions.revoked_at, auth_sessions.expires_at FROM auth_sessions "
    "JOIN users ON users.id = auth_sessions.user_id "
    "LEFT OUTER JOIN memberships ON memberships.user_id = users.id "
    "WHERE auth_sessions.id = %s::UUID AND auth_sessions.user_id = %s::UUID"
)
JSON_HEADERS = [(b"content-type", b"application/json")]


class Pool:
    """A fixed set of connections handed out through a queue (no overflow, no health checks)."""

    def __init__(self, dsn: str, size: int, tenant_id: str | None) -> None:
        self.dsn, self.size, self.tenant_id = dsn, size, tenant_id
        self._idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        self._all: list[psycopg.AsyncConnection[Any]] = []

    async def open(self) -> None:
        for _ in range(self.size):
            # With a tenant: autocommit, tenant pinned for the session. Without: transactions,
            # the tenant set per transaction as the app does.
            pinned = self.tenant_id is not None
            conn = await psycopg.AsyncConnection.connect(
                self.dsn,
                autocommit=pinned,
                application_name="tynebase-floor",
                options=f"-c app.tenant_id={self.tenant_id}" if pinned else "",
            )
            self._all.append(conn)
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        for conn in self._all:
            await conn.close()

    async def fetch_member(self, user_id: uuid.UUID) -> tuple[Any, ...] | None:
        conn = await self._idle.get()
        try:
            cur = await conn.execute(MEMBER_SQL, (user_id,))
            return await cur.fetchone()
        finally:
            self._idle.put_nowait(conn)

    async def app_shaped(
        self, subdomain: str, session_id: uuid.UUID, user_id: uuid.UUID, member: bool
    ) -> tuple[Any, ...] | None:
        """BEGIN; tenant + set_config; principal; [member]; COMMIT (as /me and /users/{id})."""
        conn = await self._idle.get()
        try:
            await conn.execute(TENANT_SQL, ("app.tenant_id", True, subdomain))
            cur = await conn.execute(PRINCIPAL_SQL, (session_id, user_id))
            row = await cur.fetchone()
            if member:
                cur = await conn.execute(MEMBER_SQL, (user_id,))
                row = await cur.fetchone()
            await conn.commit()
            return row
        finally:
            self._idle.put_nowait(conn)


async def pool_of(request: Request) -> AsyncIterator[Pool]:
    # Module level: `from __future__ import annotations` makes FastAPI resolve the route's
    # annotations from this module's globals. A generator, as the app's dependencies are.
    yield request.app.state.pool


class MemberOut(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str
    role: str
    status: str
    joined_at: datetime


def make_fastapi_app(pool: Pool) -> FastAPI:
    """The least a FastAPI app does for the same read (the shape of `GET /api/users/{id}`)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.open()
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan)
    app.state.pool = pool

    @app.get("/api/users/{user_id}")
    async def member(user_id: uuid.UUID, db: Annotated[Pool, Depends(pool_of)]) -> MemberOut:
        row = await db.fetch_member(user_id)
        if row is None:
            raise HTTPException(404)
        return MemberOut(**dict(zip(COLUMNS, row, strict=True)))

    return app


def make_app(
    pool: Pool, user_id: uuid.UUID, shape: str = "one", session_id: uuid.UUID | None = None
) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(pool, receive, send)
        if scope["type"] != "http":
            return
        if shape == "one":
            row = await pool.fetch_member(user_id)
        else:
            assert session_id is not None
            subdomain = next(
                (v.decode() for k, v in scope["headers"] if k == b"x-tenant-subdomain"), ""
            )
            row = await pool.app_shaped(
                subdomain, session_id, user_id, member=scope["path"].startswith("/api/users/")
            )
        if row is None:
            status, body = 404, b'{"error":{"code":"NOT_FOUND"}}'
        else:
            status, body = 200, orjson.dumps(dict(zip(COLUMNS, row, strict=False)))
        await send_json(send, status, body)

    return app


async def lifespan(pool: Pool, receive: Any, send: Any) -> None:
    """ASGI lifespan of a floor: the pool opens at startup and closes at shutdown."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await pool.open()
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def send_json(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*JSON_HEADERS, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def serve(app: Any, port: int) -> None:
    """Run a floor app with the same uvicorn options as `tynebase serve`
    (src/tynebase/cli/serve.py), access log off as there (TyneBase disables uvicorn.access and
    writes its own line)."""
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--dsn",
        default=os.environ.get("BENCH_FLOOR_DSN"),
        help="libpq URL of the app role (default: $BENCH_FLOOR_DSN, which keeps "
        "the password out of the process list)",
    )
    parser.add_argument("--tenant-id", required=True)
    parser.add_argument("--user-id", required=True)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument(
        "--shape",
        choices=("one", "app", "fastapi"),
        default="one",
        help="one: the floor (1 SELECT); app: the app's statements, raw; fastapi: the floor's "
        "SELECT behind a minimal FastAPI app",
    )
    parser.add_argument("--session-id", help="a live session of the user (--shape app)")
    args = parser.parse_args()
    if not args.dsn:
        parser.error("--dsn or BENCH_FLOOR_DSN is required")
    shaped = args.shape == "app"
    pool = Pool(args.dsn, args.pool_size, None if shaped else str(uuid.UUID(args.tenant_id)))
    if args.shape == "fastapi":
        serve(make_fastapi_app(pool), args.port)
        return
    app = make_app(
        pool, uuid.UUID(args.user_id), args.shape, uuid.UUID(args.session_id) if shaped else None
    )
    serve(app, args.port)


if __name__ == "__main__":
    main()
