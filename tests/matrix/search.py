"""Matrix entries for search and export: B's documents must never show in A's results, snippets
or exports."""

from __future__ import annotations

import psycopg

from tests.conftest import Account, unique
from tests.matrix.core import Target, World
from tynebase.db.engine import libpq_url

# Both workspaces hold a document with this word; A searching for it must find only its own.
SHARED_WORD = "matrixsearchword"


def insert_document(owner_url: str, account: Account, title: str, body: str) -> str:
    """A published team document written straight into the table (owner role, tenant set)."""
    with psycopg.connect(libpq_url(owner_url)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (account.tenant_id,))
        row = conn.execute(
            "INSERT INTO documents (tenant_id, title, body, status, visibility, author_id, "
            "current_version) VALUES (%s, %s, %s, 'published', 'team', %s, 1) RETURNING id",
            (account.tenant_id, title, body, account.user_id),
        ).fetchone()
    assert row is not None
    return str(row[0])


def _search_path(world: World) -> str:
    def make() -> str:
        owner_url = world.accounts.owner_url
        insert_document(owner_url, world.a, unique("A searchable "), f"{SHARED_WORD} of A")
        title, secret = unique("B searchable "), unique("bsecret")
        b_id = insert_document(owner_url, world.b, title, f"{SHARED_WORD} {secret}")
        world.b_markers |= {b_id, title, secret}
        return f"/api/search?q={SHARED_WORD}"

    return world.once("search", make)


def _export_path(world: World) -> str:
    _search_path(world)  # B has a document (and A one) by now
    return "/api/export/markdown"


ENTRIES: dict[tuple[str, str], Target] = {
    ("GET", "/api/search"): Target("collection", _search_path),
    # A's own zip (admins only); tests/api/test_export.py reads it to show B is not in it.
    ("GET", "/api/export/markdown"): Target("collection", _export_path),
}
