"""Migrations as functions: upgrade, downgrade, status and model/schema check (owner role)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from tynebase import __version__
from tynebase.db.engine import Database, libpq_url
from tynebase.db.rls import UNPROTECTED_TENANT_TABLES_SQL
from tynebase.db.roles import grant_app_privileges

# RLS lets the planner use the GIN index for `@@` only if the operator cannot leak rows.
FULL_TEXT_LEAKPROOF_SQL = (
    "SELECT proleakproof FROM pg_proc "
    "WHERE oid = 'pg_catalog.ts_match_vq(tsvector, tsquery)'::regprocedure"
)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Tables owned by a library, not by our models: procrastinate (the job queue) creates its own in
# migration 0003 from its packaged schema, so model comparison must not call them drift.
FOREIGN_TABLE_PREFIXES = ("procrastinate_",)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic filter: compare (and autogenerate) only the tables our models define."""
    return not (type_ == "table" and name is not None and name.startswith(FOREIGN_TABLE_PREFIXES))


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@contextmanager
def _owner_connection(owner_url: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(owner_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


class SchemaOutOfDate(RuntimeError):
    pass


async def check_schema(db: Database) -> None:
    """Refuse to serve on a schema this code was not written for (API and collab processes)."""
    async with db.engine.connect() as conn:
        try:
            current = (
                await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
            ).scalar()
        except sa.exc.ProgrammingError:
            current = None
    if current != head_revision():
        raise SchemaOutOfDate(
            f"database schema is at {current or 'nothing'}, this TyneBase {__version__} needs "
            f"{head_revision()}: run `tynebase db upgrade`"
        )


def revisions() -> list[str]:
    """All revisions, oldest first."""
    script = ScriptDirectory.from_config(_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def upgrade(owner_url: str, revision: str = "head", *, app_role: str | None = None) -> None:
    with _owner_connection(owner_url) as connection:
        command.upgrade(_config(connection), revision)
        connection.commit()
    if app_role:
        with psycopg.connect(libpq_url(owner_url), autocommit=True) as conn:
            grant_app_privileges(conn, role=app_role)


def downgrade(owner_url: str, revision: str) -> None:
    with _owner_connection(owner_url) as connection:
        command.downgrade(_config(connection), revision)
        connection.commit()


def status(url: str) -> SchemaStatus:
    with _owner_connection(url) as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return SchemaStatus(current=current, head=head_revision())


def check(owner_url: str) -> list[str]:
    """Problems with the live schema: pending migrations, drift from the models, missing RLS."""
    from tynebase.db.schema import metadata

    problems: list[str] = []
    state = status(owner_url)
    if not state.up_to_date:
        problems.append(f"schema at {state.current or 'empty'}, code expects {state.head}")
        return problems
    with _owner_connection(owner_url) as connection:
        diff = compare_metadata(
            MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": include_name}
            ),
            metadata,
        )
        problems.extend(f"model drift: {entry}" for entry in diff)
        problems.extend(
            f"table {name} has tenant_id but lacks FORCE RLS or a USING/WITH CHECK policy"
            for (name,) in connection.execute(sa.text(UNPROTECTED_TENANT_TABLES_SQL))
        )
        if not connection.execute(sa.text(FULL_TEXT_LEAKPROOF_SQL)).scalar():
            problems.append(
                "full-text search cannot use its index under row-level security: as a superuser "
                "run ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF"
            )
    return problems
