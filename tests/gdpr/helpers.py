"""Helpers for the privacy tests: a person full of marker strings, and a scan for them in every
table, column and blob."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from pycrdt import Doc, Text
from typer.testing import CliRunner, Result

from tests.conftest import (
    PASSWORD,
    TEST_DB,
    TEST_SECRET,
    Account,
    Accounts,
    TestDatabase,
    latest_mail_token,
)
from tynebase.cli import main
from tynebase.db.engine import libpq_url

COLUMNS_SQL = """
SELECT table_name, column_name, data_type FROM information_schema.columns
WHERE table_schema = 'public' ORDER BY table_name, ordinal_position
"""


def new_marker() -> str:
    # One word for every tokenizer (full text, chunker, tsvector), unique per test.
    return f"zqmk{uuid.uuid4().hex[:16]}"


def superuser(database: TestDatabase) -> psycopg.Connection[Any]:
    """The server's superuser on the test database: no RLS, so every tenant's rows at once."""
    url = psycopg.conninfo.conninfo_to_dict(database.server.superuser_url)
    url["dbname"] = TEST_DB
    return psycopg.connect(psycopg.conninfo.make_conninfo(**url), autocommit=True)


def tables_with(database: TestDatabase, marker: str) -> dict[str, int]:
    """Table -> rows holding `marker` anywhere: text, JSON, tsvector (as text), bytea (raw)."""
    needle = marker.encode()
    columns: dict[str, list[tuple[str, str]]] = {}
    with superuser(database) as conn:
        for table, column, data_type in conn.execute(COLUMNS_SQL):
            columns.setdefault(table, []).append((column, data_type))
        found: dict[str, int] = {}
        for table, cols in columns.items():
            conditions = [sql.SQL("t::text ILIKE %s")]
            params: list[Any] = [f"%{marker}%"]
            for column, data_type in cols:
                if data_type == "bytea":
                    conditions.append(
                        sql.SQL("position(%s::bytea IN t.{}) > 0").format(sql.Identifier(column))
                    )
                    params.append(needle)
            query = sql.SQL("SELECT count(*) FROM {} t WHERE {}").format(
                sql.Identifier(table), sql.SQL(" OR ").join(conditions)
            )
            row = conn.execute(query, params).fetchone()
            assert row is not None
            if row[0]:
                found[table] = row[0]
    return found


def blobs_with(root: Path, marker: str) -> list[str]:
    needle = marker.encode()
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and (marker in str(path) or needle in path.read_bytes()):
            hits.append(str(path.relative_to(root)))
    return hits


@dataclass
class Person:
    account: Account
    marker: str
    name: str
    documents: list[dict[str, Any]]
    file: dict[str, Any]
    file_bytes: bytes


def invite_person(accounts: Accounts, admin: Account, marker: str, role: str) -> Account:
    email = f"{marker}@example.com"
    response = admin.post("/api/invites", json={"email": email, "role": role})
    assert response.status_code == 201, response.text
    token = latest_mail_token(accounts.owner_url, email, "invited")
    accepted = admin.client.post(
        "/api/invites/accept",
        headers={"X-Tenant-Subdomain": admin.subdomain},
        json={"token": token, "name": f"Person {marker}", "password": PASSWORD},
    )
    assert accepted.status_code == 201, accepted.text
    return Account(
        client=admin.client,
        email=email,
        password=PASSWORD,
        user_id=accepted.json()["user_id"],
        tenant_id=admin.tenant_id,
        subdomain=admin.subdomain,
        role=role,
    ).login()


def yjs_update(text: str) -> bytes:
    doc: Doc[Any] = Doc()
    body = doc.get("body", type=Text)
    body += text
    return doc.get_update()


def write_collab_state(database: TestDatabase, tenant_id: str, document_id: str, text: str) -> None:
    """A collaborative edit as the collab store keeps it: an update log row and a snapshot."""
    update = yjs_update(text)
    with psycopg.connect(libpq_url(database.urls.app)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        conn.execute(
            "INSERT INTO collab_updates (tenant_id, document_id, update) VALUES (%s, %s, %s)",
            (tenant_id, document_id, update),
        )
        conn.execute(
            "INSERT INTO collab_documents (tenant_id, document_id, snapshot, compacted_updates) "
            "VALUES (%s, %s, %s, 1) ON CONFLICT (document_id) DO UPDATE SET snapshot = "
            "excluded.snapshot",
            (tenant_id, document_id, update),
        )


def cli(database: TestDatabase, *args: str) -> Result:
    """Run `tynebase ...` in this process (the real command; no interpreter start-up)."""
    env = {
        "DATABASE_URL": database.urls.owner,
        "TYNEBASE_SECRET_KEY": TEST_SECRET,
        "TYNEBASE_ENVIRONMENT": "test",
        "TYNEBASE_DATA_DIR": str(database.base_dir),  # the test app's blob store
        "TYNEBASE_STORAGE_URL": None,
        "TYNEBASE_OPERATOR": "dpo",
        "COLUMNS": "200",
    }
    return CliRunner().invoke(main.app, list(args), env=env)
