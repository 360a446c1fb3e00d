"""Drive the credit service against the test database, as a request or a job would."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import Account, TestDatabase
from tynebase.credits import service
from tynebase.credits.repo import Charge
from tynebase.db.engine import Database
from tynebase.settings import Settings

T = TypeVar("T")


class Ledger:
    """Reserve, commit and release credits of a tenant, each in its own transaction, on one
    event loop and connection pool for the whole test (call `close()` at the end)."""

    def __init__(self, database: TestDatabase, settings: Settings) -> None:
        self.database, self.settings = database, settings
        self.loop = asyncio.new_event_loop()
        self.db = Database(database.urls, settings)

    def close(self) -> None:
        self.loop.run_until_complete(self.db.dispose())
        self.loop.close()

    def in_tenant(self, tenant_id: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        async def main() -> T:
            async with self.db.unit_of_work(UUID(tenant_id)) as conn:
                return await work(conn)

        return self.loop.run_until_complete(main())

    def reserve(
        self,
        account: Account,
        *,
        tier: str,
        operation: str = "generate.article",
        provider: str = "openai",
        model: str = "gpt-test",
        job_id: str | None = None,
        now: datetime | None = None,
    ) -> Charge:
        return self.in_tenant(
            account.tenant_id,
            lambda conn: service.do_reserve(
                conn,
                settings=self.settings,
                tenant_id=UUID(account.tenant_id),
                tier=tier,
                operation=operation,
                provider=provider,
                model=model,
                user_id=UUID(account.user_id),
                job_id=UUID(job_id) if job_id else None,
                now=now,
            ),
        )

    def commit(
        self,
        account: Account,
        *,
        job_id: str | None = None,
        charge_id: UUID | None = None,
        operation: str = "generate.article",
        provider: str = "openai",
        model: str = "gpt-test",
        now: datetime | None = None,
    ) -> Charge | None:
        return self.in_tenant(
            account.tenant_id,
            lambda conn: service.do_commit(
                conn,
                settings=self.settings,
                tenant_id=UUID(account.tenant_id),
                operation=operation,
                provider=provider,
                model=model,
                job_id=UUID(job_id) if job_id else None,
                charge_id=charge_id,
                now=now,
            ),
        )


def insert_job(owner_sql: psycopg.Connection[Any], account: Account, status: str) -> str:
    """A `jobs` row of the tenant (no queue entry: the credit rules read only its status)."""
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (account.tenant_id,))
        row = owner_sql.execute(
            "INSERT INTO jobs (tenant_id, kind, status, created_by) "
            "VALUES (%s, 'ai.generate', %s, %s) RETURNING id::text",
            (account.tenant_id, status, account.user_id),
        ).fetchone()
    assert row is not None
    job_id: str = row[0]
    return job_id


def set_job_status(
    owner_sql: psycopg.Connection[Any], account: Account, job_id: str, status: str
) -> None:
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (account.tenant_id,))
        owner_sql.execute("UPDATE jobs SET status = %s WHERE id = %s", (status, job_id))


def tenant_rows(
    owner_sql: psycopg.Connection[Any], account: Account, query: str, *params: Any
) -> list[tuple[Any, ...]]:
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (account.tenant_id,))
        return [tuple(row) for row in owner_sql.execute(query, params).fetchall()]


def mails_to(owner_sql: psycopg.Connection[Any], email: str, subject: str) -> list[str]:
    rows = owner_sql.execute(
        "SELECT body FROM mail_outbox WHERE to_address = %s AND subject LIKE %s",
        (email.lower(), f"%{subject}%"),
    ).fetchall()
    return [row[0] for row in rows]
