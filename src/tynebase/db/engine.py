"""The app-role engine and `unit_of_work`: the only way request code touches the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
import sqlalchemy as sa
from psycopg.rows import namedtuple_row
from sqlalchemy.engine import make_url
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tynebase.db.rls import TENANT_SETTING, USER_SETTING
from tynebase.settings import Settings

CONNECT_TIMEOUT_SECONDS = 5
_SET_TENANT = sa.text("SELECT set_config(:name, :tenant, true)").bindparams(name=TENANT_SETTING)
_SET_USER = sa.text("SELECT set_config(:name, :user, true)").bindparams(name=USER_SETTING)


async def set_tenant(conn: AsyncConnection, tenant_id: UUID) -> None:
    """Make `tenant_id` the tenant of the current transaction (and only of it)."""
    await conn.execute(_SET_TENANT, {"tenant": str(tenant_id)})


async def set_user(conn: AsyncConnection, user_id: UUID) -> None:
    """Let this transaction read the user's own memberships and sessions across tenants."""
    await conn.execute(_SET_USER, {"user": str(user_id)})


class HotQuery:
    """A SELECT run on the driver connection underneath a unit of work, for the statements every
    authenticated request runs (tenant, principal).

    SQLAlchemy's async execute costs ~75 µs of CPU against ~25 µs for psycopg alone
    (bench/micro.py), most of it the greenlet hop and result processing. The statement is still
    written with the table definitions and compiled once, on first use, by the connection's own
    dialect; it runs inside the same transaction (psycopg's), so RLS and `set_config(..., true)`
    behave as usual. Rows are named tuples with the statement's column labels.
    """

    def __init__(self, statement: sa.Select[Any]) -> None:
        self._statement = statement
        self._compiled: tuple[str, dict[str, Any]] | None = None

    async def first(self, conn: AsyncConnection, params: dict[str, Any]) -> Any | None:
        if self._compiled is None:
            compiled = self._statement.compile(dialect=conn.dialect)
            self._compiled = (str(compiled), dict(compiled.params))
        sql, constants = self._compiled
        # The unit of work has checked the connection out already: no I/O in this lookup.
        fairy = conn.sync_connection.connection  # type: ignore[union-attr]
        driver: psycopg.AsyncConnection[Any] = fairy.driver_connection  # type: ignore[assignment]
        async with driver.cursor(row_factory=namedtuple_row) as cursor:
            await cursor.execute(sql, constants | params)
            return await cursor.fetchone()


def libpq_url(sqlalchemy_url: str) -> str:
    """The same URL for psycopg/libpq (without SQLAlchemy's `+psycopg` driver suffix)."""
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


@dataclass(frozen=True)
class DatabaseUrls:
    """Owner URL (migrations, bootstrap) and app-role URL (everything else)."""

    owner: str
    app: str


class Database:
    """Pool of app-role connections. The app role is neither owner nor superuser: RLS applies."""

    def __init__(self, urls: DatabaseUrls, settings: Settings) -> None:
        self.urls = urls
        self._turns = asyncio.Semaphore(settings.db_pool_size + settings.db_max_overflow)
        self._checkout_timeout = settings.db_pool_timeout
        self.engine: AsyncEngine = create_async_engine(
            urls.app,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            pool_pre_ping=False,
            connect_args={
                "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
                "application_name": "tynebase",
                # A database host that drops packets must not hold requests for the OS's TCP
                # timeout (minutes): fail fast with 503 DATABASE_UNAVAILABLE instead.
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            },
        )

    @asynccontextmanager
    async def unit_of_work(self, tenant_id: UUID | None = None) -> AsyncIterator[AsyncConnection]:
        """One transaction; with a tenant, RLS sees only that tenant's rows in it.

        The tenant is set with `set_config(..., true)`, so it ends with the transaction and can
        never leak to the next user of the pooled connection.
        """
        async with self._checkout_in_turn(), self.engine.begin() as conn:
            if tenant_id is not None:
                await set_tenant(conn, tenant_id)
            yield conn

    @asynccontextmanager
    async def _checkout_in_turn(self) -> AsyncIterator[None]:
        """Wait for a pooled connection first come, first served.

        The pool's own wait lets a newly arrived request take a connection returned while older
        waiters are still waking up, so under load some requests wait many turns: at 64
        concurrent requests on 20 connections that made p95 ten times the median
        (docs/PERFORMANCE.md). asyncio.Semaphore hands permits out in arrival order.
        """
        try:
            async with asyncio.timeout(self._checkout_timeout):
                await self._turns.acquire()
        except TimeoutError:
            raise PoolTimeout(
                f"no database connection free within {self._checkout_timeout} s"
            ) from None
        try:
            yield
        finally:
            self._turns.release()

    async def dispose(self) -> None:
        await self.engine.dispose()
