"""Helpers for the taxonomy tests (categories, tags, collections, templates) and their matrix
entries: documents and tag links made directly in the database, as the owner inside the tenant
(FORCE RLS applies to the owner too), so these tests do not depend on the documents API."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi.testclient import TestClient

from tests.conftest import Account, Accounts, TestDatabase, error_code
from tynebase.db.engine import libpq_url


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert error_code(response) == code, response.text


def tenant_sql(owner_url: str, tenant_id: str, query: str, params: tuple[Any, ...] = ()) -> Any:
    """Run `query` as the owner inside `tenant_id`; the first row, if any."""
    with psycopg.connect(libpq_url(owner_url)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        cursor = conn.execute(query, params)
        return cursor.fetchone() if cursor.description else None


def make_document(
    owner_url: str,
    account: Account,
    *,
    title: str = "A document",
    category_id: str | None = None,
    status: str = "published",
    visibility: str = "team",
    author: Account | None = None,
) -> str:
    """A document in `account`'s workspace, written by `author` (default: `account`)."""
    row = tenant_sql(
        owner_url,
        account.tenant_id,
        "INSERT INTO documents (tenant_id, title, body, status, visibility, category_id, "
        "author_id, current_version) VALUES (%s, %s, %s, %s, %s, %s, %s, 1) RETURNING id",
        (
            account.tenant_id,
            title,
            f"Body of {title}",
            status,
            visibility,
            category_id,
            (author or account).user_id,
        ),
    )
    return str(row[0])


def tag_document(owner_url: str, account: Account, document_id: str, tag_id: str) -> None:
    tenant_sql(
        owner_url,
        account.tenant_id,
        "INSERT INTO document_tags (tenant_id, document_id, tag_id) VALUES (%s, %s, %s)",
        (account.tenant_id, document_id, tag_id),
    )


def document_row(owner_url: str, account: Account, document_id: str) -> Any:
    return tenant_sql(
        owner_url,
        account.tenant_id,
        "SELECT id, category_id, updated_at FROM documents WHERE id = %s",
        (document_id,),
    )


def lineage_of(owner_url: str, account: Account, document_id: str) -> list[tuple[str, Any, Any]]:
    """(event, actor_id, details) of each lineage entry of a document, oldest first."""
    with psycopg.connect(libpq_url(owner_url)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (account.tenant_id,))
        rows = conn.execute(
            "SELECT event, actor_id::text, details FROM document_lineage "
            "WHERE document_id = %s ORDER BY id",
            (document_id,),
        ).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


def create(account: Account, path: str, **body: Any) -> dict[str, Any]:
    """POST `body` to `path` as `account`, expecting 201; the answer."""
    response = account.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


ROLES = ("admin", "editor", "contributor", "viewer")


def make_team(client: TestClient, database: TestDatabase) -> dict[str, Account]:
    """A workspace with one member of each role (for a module-scoped fixture: members cost a
    password hash each, and tests that only need roles can share them)."""
    accounts = Accounts(client, database.urls.owner)
    admin = accounts.signup(tier="base")
    return {"admin": admin, **{role: accounts.member(admin, role) for role in ROLES[1:]}}
