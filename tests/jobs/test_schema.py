"""Migration 0003 (procrastinate's schema): it goes down without a trace, the app role may use
the queue, and `tynebase db check` does not call procrastinate's tables drift."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.conftest import TestDatabase
from tynebase.db import migrate
from tynebase.db.engine import libpq_url

OBJECTS = {
    "relations": "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
    "AND relname LIKE 'procrastinate%%'",
    "functions": "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
    "AND proname LIKE 'procrastinate%%'",
    "types": "SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace "
    "AND typname LIKE 'procrastinate%%'",
    "triggers": "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'procrastinate%%'",
}


@pytest.fixture
def scratch(database: TestDatabase) -> Iterator[str]:
    name = f"q_{uuid.uuid4().hex[:12]}"
    yield database.create_database(name)
    with psycopg.connect(database.server.superuser_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def procrastinate_objects(owner_url: str) -> dict[str, set[str]]:
    with psycopg.connect(libpq_url(owner_url)) as conn:
        return {kind: {row[0] for row in conn.execute(q)} for kind, q in OBJECTS.items()}


def test_downgrade_removes_every_queue_object(scratch: str) -> None:
    migrate.upgrade(scratch, "0003")
    at_0003 = procrastinate_objects(scratch)
    assert {"procrastinate_jobs", "procrastinate_events", "procrastinate_workers"} <= at_0003[
        "relations"
    ]
    assert "procrastinate_defer_jobs_v1" in at_0003["functions"]
    assert {"procrastinate_job_status", "procrastinate_job_to_defer_v1"} <= at_0003["types"]
    assert at_0003["triggers"]

    migrate.downgrade(scratch, "0002")
    assert procrastinate_objects(scratch) == {kind: set() for kind in OBJECTS}

    migrate.upgrade(scratch)
    assert procrastinate_objects(scratch) == at_0003
    assert migrate.check(scratch) == []  # procrastinate's tables are not model drift


def test_check_still_reports_drift_in_our_own_tables(scratch: str) -> None:
    migrate.upgrade(scratch)
    with psycopg.connect(libpq_url(scratch), autocommit=True) as conn:
        conn.execute("ALTER TABLE jobs DROP COLUMN message")
    problems = migrate.check(scratch)
    assert any("model drift" in p and "message" in p for p in problems), problems
    assert not any("procrastinate" in p for p in problems), problems


def test_app_role_may_use_the_queue(owner_sql: psycopg.Connection[Any]) -> None:
    """The app role (requests, workers) reads and writes the queue tables and calls its
    functions; it owns none of them."""
    role = "tynebase_app"
    for table in ("procrastinate_jobs", "procrastinate_events", "procrastinate_workers"):
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE"):
            allowed = owner_sql.execute(
                "SELECT has_table_privilege(%s, %s, %s)", (role, table, privilege)
            ).fetchone()
            assert allowed == (True,), (table, privilege)
    functions = owner_sql.execute(
        "SELECT p.oid::regprocedure::text, has_function_privilege(%s, p.oid, 'EXECUTE'), "
        "pg_get_userbyid(p.proowner) FROM pg_proc p "
        "WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'procrastinate%%'",
        (role,),
    ).fetchall()
    assert functions
    assert all(allowed for _, allowed, _ in functions), functions
    assert {owner for _, _, owner in functions} == {"tynebase_owner"}
