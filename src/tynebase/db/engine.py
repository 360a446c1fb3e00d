"""The app-role engine and `unit_of_work`: the only way request code touches the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tynebase.db.rls import TENANT_SETTING, USER_SETTING
from tynebase.settings import Settings

_SET_TENANT = sa.text("SELECT set_config(:name, :tenant, true)").bindparams(name=TENANT_SETTING)
_SET_USER = sa.text("SELECT set_config(:name, :user, true)").bindparams(name=USER_SETTING)


async def set_tenant(conn: AsyncConnection, tenant_id: UUID) -> None:
    """Make `tenant_id` the tenant of the current transaction (and only of it)."""
    await conn.execute(_SET_TENANT, {"tenant": str(tenant_id)})


async def set_user(conn: AsyncConnection, user_id: UUID) -> None:
    """Let this transaction read the user's own memberships and sessions across tenants."""
    await conn.execute(_SET_USER, {"user": str(user_id)})


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
        self.engine: AsyncEngine = create_async_engine(
            urls.app,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout,
            pool_pre_ping=False,
            connect_args={
                "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
                "application_name": "tynebase",
            },
        )

    @asynccontextmanager
    async def unit_of_work(self, tenant_id: UUID | None = None) -> AsyncIterator[AsyncConnection]:
        """One transaction; with a tenant, RLS sees only that tenant's rows in it.

        The tenant is set with `set_config(..., true)`, so it ends with the transaction and can
        never leak to the next user of the pooled connection.
        """
        async with self.engine.begin() as conn:
            if tenant_id is not None:
                await set_tenant(conn, tenant_id)
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()
