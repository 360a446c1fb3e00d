"""Migrations (OPS-6): the chain goes up and down cleanly, `check` sees drift, and the
`tynebase db` commands do what they say, each on a scratch database of its own."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET, TestDatabase
from tynebase.cli.main import app as cli
from tynebase.db import migrate
from tynebase.db.engine import libpq_url

# The one table Alembic leaves behind at base (empty).
ALEMBIC_TABLE = "alembic_version"


@pytest.fixture
def scratch(database: TestDatabase) -> Iterator[str]:
    """An empty database (owner role, pgvector, no schema); its owner URL."""
    name = f"mig_{uuid.uuid4().hex[:12]}"
    owner_url = database.create_database(name)
    yield owner_url
    with psycopg.connect(database.server.superuser_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sql(owner_url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(libpq_url(owner_url), autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def relations(owner_url: str) -> set[str]:
    """Tables, views, sequences and indexes in the public schema."""
    rows = sql(
        owner_url,
        "SELECT relname FROM pg_class "
        "WHERE relnamespace = 'public'::regnamespace "
        "AND relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I')",
    )
    return {name for (name,) in rows}


def fingerprint(owner_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a migration defines: columns, constraints, indexes, RLS flags and policies."""
    queries = {
        "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = 'public'",
        "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
        "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = 'public'",
        "rls": "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
        "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'",
        "policies": "SELECT tablename, policyname, cmd, roles::text, qual, with_check "
        "FROM pg_policies WHERE schemaname = 'public'",
    }
    # Alembic's own bookkeeping table is not part of any migration.
    return {
        name: sorted((row for row in sql(owner_url, query) if row[0] != ALEMBIC_TABLE), key=repr)
        for name, query in queries.items()
    }


def test_upgrade_downgrade_upgrade(scratch: str) -> None:
    assert migrate.status(scratch).current is None
    assert migrate.check(scratch) == [f"schema at empty, code expects {migrate.head_revision()}"]

    migrate.upgrade(scratch)
    assert migrate.status(scratch).up_to_date
    assert migrate.check(scratch) == []
    at_head = fingerprint(scratch)
    assert {"tenants", "users", "memberships"} <= {row[0] for row in at_head["columns"]}

    migrate.downgrade(scratch, "base")
    assert migrate.status(scratch).current is None
    assert relations(scratch) <= {ALEMBIC_TABLE, f"{ALEMBIC_TABLE}_pkc"}, relations(scratch)
    assert sql(scratch, "SELECT count(*) FROM pg_policies WHERE schemaname = 'public'") == [(0,)]

    migrate.upgrade(scratch)
    assert migrate.check(scratch) == []
    assert fingerprint(scratch) == at_head


def test_every_migration_downgrades_one_step(scratch: str) -> None:
    """Walk the chain: each revision up, one step down (back to exactly what was there), up."""
    chain = migrate.revisions()
    assert chain[-1] == migrate.head_revision()
    before = fingerprint(scratch)
    for revision in chain:
        migrate.upgrade(scratch, revision)
        assert migrate.status(scratch).current == revision
        after = fingerprint(scratch)
        migrate.downgrade(scratch, "-1")
        assert fingerprint(scratch) == before, f"downgrade of {revision} left changes behind"
        migrate.upgrade(scratch, revision)
        assert fingerprint(scratch) == after
        before = after
    assert migrate.check(scratch) == []


def test_check_reports_drift_and_missing_rls(scratch: str) -> None:
    migrate.upgrade(scratch)
    sql(scratch, "ALTER TABLE invites DROP COLUMN revoked_at")
    problems = migrate.check(scratch)
    assert any("model drift" in p and "revoked_at" in p for p in problems), problems

    migrate.downgrade(scratch, "base")
    migrate.upgrade(scratch)
    assert migrate.check(scratch) == []
    sql(scratch, "ALTER TABLE api_keys NO FORCE ROW LEVEL SECURITY")
    assert migrate.check(scratch) == [
        "table api_keys has tenant_id but lacks FORCE RLS or a USING/WITH CHECK policy"
    ]


# --- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def keep_logging() -> Iterator[None]:
    """The CLI configures logging for the process; put the test runner's back afterwards."""
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "alembic")
    saved = [
        (
            logging.getLogger(n),
            logging.getLogger(n).handlers[:],
            logging.getLogger(n).level,
            logging.getLogger(n).propagate,
            logging.getLogger(n).disabled,
        )
        for n in names
    ]
    yield
    for logger, handlers, level, propagate, disabled in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate, logger.disabled = propagate, disabled


def test_cli_db_commands(scratch: str, tmp_path: Path, keep_logging: None) -> None:
    runner = CliRunner()
    env = {
        "DATABASE_URL": scratch,
        "TYNEBASE_SECRET_KEY": TEST_SECRET,
        "TYNEBASE_ENVIRONMENT": "test",
        "TYNEBASE_DATA_DIR": str(tmp_path),
        "COLUMNS": "200",
    }

    def db(*args: str, input: str | None = None) -> Any:
        return runner.invoke(cli, ["db", *args], env=env, input=input, catch_exceptions=False)

    head = migrate.head_revision()
    behind = db("status")
    assert behind.exit_code == 1, behind.output
    assert "pending migrations" in behind.output
    assert db("check").exit_code == 1

    upgraded = db("upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert head in upgraded.output
    status = db("status")
    assert status.exit_code == 0, status.output
    assert "up to date" in status.output
    checked = db("check")
    assert checked.exit_code == 0, checked.output
    assert "schema OK" in checked.output
    # `db upgrade` also let the app role in (what `tynebase api` connects as).
    grants = sql(scratch, "SELECT has_table_privilege('tynebase_app', 'memberships', 'SELECT')")
    assert grants == [(True,)]

    tables = relations(scratch)
    assert db("downgrade", "base", "--dry-run").exit_code == 0
    refused = db("downgrade", "base", input="n\n")
    assert refused.exit_code == 1
    assert relations(scratch) == tables
    assert migrate.status(scratch).current == head

    sql(scratch, "ALTER TABLE memberships DROP COLUMN status")
    drift = db("check")
    assert drift.exit_code == 1
    assert "model drift" in drift.output
    assert "'memberships', Column('status'" in drift.output

    down = db("downgrade", "base", "--yes")
    assert down.exit_code == 0, down.output
    assert "schema at base" in down.output
    assert relations(scratch) <= {ALEMBIC_TABLE, f"{ALEMBIC_TABLE}_pkc"}
    assert db("status").exit_code == 1
