"""The Markdown zip (DOC-9): GET /api/export/markdown, for admins, with a folder per category
path and front matter; plus `seed()`, the rich workspace the export tests share (written straight
into the tables as the owner: export reads tables, not other features' services)."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import Account, Accounts, TestDatabase, error_code


@contextmanager
def as_tenant(sql: psycopg.Connection[Any], tenant_id: str) -> Iterator[psycopg.Connection[Any]]:
    with sql.transaction():
        sql.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        yield sql


def _one(sql: psycopg.Connection[Any], query: str, params: tuple[Any, ...]) -> str:
    row = sql.execute(query, params).fetchone()
    assert row is not None
    return str(row[0])


def seed(
    sql: psycopg.Connection[Any], database: TestDatabase, admin: Account, editor: Account
) -> dict[str, str]:
    """A workspace with a category tree, tags, documents (versions, lineage, a pending draft, a
    private one, duplicate titles, Japanese), a collection with members, a template, shares and
    two files with the same bytes (blobs in the store)."""
    t, ids = admin.tenant_id, {}
    with as_tenant(sql, t):

        def insert(query: str, *params: Any) -> str:
            return _one(sql, query, params)

        cat = (
            "INSERT INTO categories (tenant_id, parent_id, name, position) "
            "VALUES (%s, %s, %s, %s) RETURNING id"
        )
        ids["eng"] = insert(cat, t, None, "Engineering", 0)
        ids["backend"] = insert(cat, t, ids["eng"], "Backend", 0)
        ids["deploy"] = insert(cat, t, ids["backend"], "Deploy/Ops", 1)
        ids["marketing"] = insert(cat, t, None, "Marketing", 1)
        tag = "INSERT INTO tags (tenant_id, name) VALUES (%s, %s) RETURNING id"
        for name in ("ops", "release", "日本語"):
            ids[f"tag:{name}"] = insert(tag, t, name)
        doc = (
            "INSERT INTO documents (tenant_id, title, body, status, visibility, category_id, "
            "author_id, draft_title, draft_body, draft_updated_at, current_version, "
            "published_at, created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, %s, %s, now() - interval '2 days', now()) RETURNING id"
        )
        ids["checklist"] = insert(
            doc,
            t,
            "Deploy checklist",
            "1. Build\n2. Ship\n",
            "published",
            "team",
            ids["backend"],
            admin.user_id,
            None,
            "Secret pending draft",
            "now()",
            2,
            "2026-01-02",
        )
        ids["runbook"] = insert(
            doc,
            t,
            "Rollback",
            "Undo it.",
            "published",
            "public",
            ids["deploy"],
            editor.user_id,
            None,
            None,
            None,
            1,
            "2026-01-03",
        )
        ids["notes1"] = insert(
            doc,
            t,
            "Notes",
            "first notes",
            "draft",
            "team",
            None,
            editor.user_id,
            None,
            None,
            None,
            1,
            None,
        )
        ids["notes2"] = insert(
            doc,
            t,
            "Notes",
            "second notes",
            "in_review",
            "private",
            None,
            admin.user_id,
            None,
            None,
            None,
            1,
            None,
        )
        ids["tokyo"] = insert(
            doc,
            t,
            "東京オフィス",
            "東京都の新しいオフィスについて。",
            "published",
            "team",
            ids["marketing"],
            admin.user_id,
            None,
            None,
            None,
            1,
            "2026-01-04",
        )
        version = (
            "INSERT INTO document_versions (tenant_id, document_id, number, title, body, reason, "
            "created_by) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id"
        )
        insert(
            version,
            t,
            ids["checklist"],
            1,
            "Deploy checklist",
            "1. Build\n",
            "create",
            admin.user_id,
        )
        insert(
            version,
            t,
            ids["checklist"],
            2,
            "Deploy checklist",
            "1. Build\n2. Ship\n",
            "publish",
            editor.user_id,
        )
        for key in ("runbook", "notes1", "notes2", "tokyo"):
            insert(version, t, ids[key], 1, "v1", "v1 body", "create", admin.user_id)
        for key, names in (("checklist", ("ops", "release")), ("tokyo", ("日本語",))):
            for name in names:
                sql.execute(
                    "INSERT INTO document_tags (tenant_id, document_id, tag_id) "
                    "VALUES (%s, %s, %s)",
                    (t, ids[key], ids[f"tag:{name}"]),
                )
        ids["collection"] = insert(
            "INSERT INTO collections (tenant_id, name, description, created_by) VALUES "
            "(%s, 'Onboarding', 'Start here', %s) RETURNING id",
            t,
            admin.user_id,
        )
        for user, role in ((editor, "editor"), (admin, "viewer")):
            sql.execute(
                "INSERT INTO collection_members (tenant_id, collection_id, user_id, role) "
                "VALUES (%s, %s, %s, %s)",
                (t, ids["collection"], user.user_id, role),
            )
        for position, key in enumerate(("tokyo", "checklist")):
            sql.execute(
                "INSERT INTO collection_documents (tenant_id, collection_id, document_id, "
                "position) VALUES (%s, %s, %s, %s)",
                (t, ids["collection"], ids[key], position),
            )
        ids["template"] = insert(
            "INSERT INTO templates (tenant_id, name, description, title, body, created_by) "
            "VALUES (%s, 'Runbook', 'Ops', 'Runbook: ...', '## Steps', %s) RETURNING id",
            t,
            editor.user_id,
        )
        share = (
            "INSERT INTO shares (tenant_id, document_id, token_hash, created_by, expires_at, "
            "revoked_at) VALUES (%s, %s, %s, %s, now() + interval '7 days', %s) RETURNING id"
        )
        ids["share"] = insert(
            share, t, ids["checklist"], secrets.token_bytes(32), admin.user_id, None
        )
        ids["revoked_share"] = insert(
            share, t, ids["tokyo"], secrets.token_bytes(32), admin.user_id, "2026-01-05"
        )
        content = b"%PDF-1.4 pretend file bytes \x00\x01\x02"
        for key, document in (("file", ids["checklist"]), ("file_copy", None)):
            file_id = str(uuid.uuid4())
            storage_key = f"tenants/{t}/files/{file_id}"
            blob = database.base_dir / "blobs" / storage_key
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(content)
            ids[key] = insert(
                "INSERT INTO files (id, tenant_id, storage_key, filename, content_type, kind, "
                "size_bytes, sha256, created_by, document_id) VALUES (%s, %s, %s, 'spec.pdf', "
                "'application/pdf', 'document', %s, %s, %s, %s) RETURNING id",
                file_id,
                t,
                storage_key,
                len(content),
                hashlib.sha256(content).hexdigest(),
                admin.user_id,
                document,
            )
        lineage = (
            "INSERT INTO document_lineage (tenant_id, document_id, event, actor_id, version, "
            "details) VALUES (%s, %s, %s, %s, %s, %s)"
        )
        gone_document, gone_user = str(uuid.uuid4()), str(uuid.uuid4())
        for document, event, actor, number, details in (
            (ids["checklist"], "created", admin.user_id, 1, {}),
            (
                ids["checklist"],
                "moved",
                admin.user_id,
                None,
                {"from": None, "to": ids["backend"], "other": "not-an-id"},
            ),
            (ids["checklist"], "shared", admin.user_id, None, {"share_id": ids["share"]}),
            (ids["checklist"], "published", editor.user_id, 2, {"from_version": 1}),
            (gone_document, "deleted", gone_user, None, {"title": "Old"}),
        ):
            sql.execute(lineage, (t, document, event, actor, number, json.dumps(details)))
    return ids


def markdown_zip(account: Account) -> zipfile.ZipFile:
    response = account.get("/api/export/markdown")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert f'filename="{account.subdomain}-markdown-' in response.headers["content-disposition"]
    return zipfile.ZipFile(io.BytesIO(response.content))


def front_matter(text: str) -> tuple[dict[str, Any], str]:
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n\n", 1)
    fields = {}
    for line in head.splitlines():
        key, value = line.split(": ", 1)
        fields[key] = json.loads(value)  # JSON scalars: valid YAML too
    return fields, body


@pytest.fixture
def seeded(
    accounts: Accounts, admin: Account, owner_sql: Any, database: TestDatabase
) -> dict[str, Any]:
    editor = accounts.member(admin, "editor")
    return {"editor": editor, **seed(owner_sql, database, admin, editor)}


def test_markdown_zip_has_a_folder_per_category_and_front_matter(
    admin: Account, other_admin: Account, owner_sql: Any, seeded: dict[str, Any]
) -> None:
    with as_tenant(owner_sql, other_admin.tenant_id):
        owner_sql.execute(
            "INSERT INTO documents (tenant_id, title, body, status) VALUES (%s, %s, %s, %s)",
            (other_admin.tenant_id, "Other workspace doc", "not yours", "published"),
        )
    zf = markdown_zip(admin)
    names = sorted(zf.namelist())
    assert names == sorted(
        [
            "Engineering/Backend/Deploy checklist.md",
            "Engineering/Backend/Deploy-Ops/Rollback.md",
            "Marketing/東京オフィス.md",
            "Uncategorised/Notes.md",
            "Uncategorised/Notes (2).md",
        ]
    )
    fields, body = front_matter(zf.read("Engineering/Backend/Deploy checklist.md").decode())
    assert body == "1. Build\n2. Ship\n"  # the published text, never the pending draft
    assert fields["title"] == "Deploy checklist"
    assert fields["status"] == "published"
    assert fields["tags"] == ["ops", "release"]
    assert fields["category"] == "Engineering/Backend"
    assert fields["author"] == admin.email
    assert fields["id"] == seeded["checklist"]
    assert fields["published_at"].startswith("2026-01-02")
    tokyo, _ = front_matter(zf.read("Marketing/東京オフィス.md").decode())
    assert tokyo["tags"] == ["日本語"]
    notes = [front_matter(zf.read(n).decode()) for n in names if n.startswith("Uncategorised/")]
    assert sorted(b for _, b in notes) == ["first notes", "second notes"]
    assert {f["category"] for f, _ in notes} == {None}
    everything = b"".join(zf.read(n) for n in names)
    assert b"Secret pending draft" not in everything
    assert b"not yours" not in everything


@pytest.mark.parametrize("role", ["editor", "contributor", "viewer"])
def test_markdown_export_needs_an_admin(accounts: Accounts, admin: Account, role: str) -> None:
    member = accounts.member(admin, role)
    response = member.get("/api/export/markdown")
    assert response.status_code == 403, response.text
    assert error_code(response) == "INSUFFICIENT_ROLE"


def test_markdown_export_of_an_empty_workspace_is_an_empty_zip(admin: Account) -> None:
    assert markdown_zip(admin).namelist() == []


def test_safe_names() -> None:
    from tynebase.export.markdown import Paths, safe_segment

    assert safe_segment("../../etc/passwd") == "etc-passwd"
    assert safe_segment('a/b\\c:d*e?f"g<h>i|j\x00k') == "a-b-c-d-e-f-g-h-i-j-k"
    assert safe_segment("...") == "untitled"
    assert safe_segment("CON") == "_CON"
    assert len(safe_segment("x" * 500)) == 100
    paths = Paths()
    assert [paths.claim(("A",), t) for t in ("Notes", "notes", "Notes")] == [
        "A/Notes.md",
        "A/notes (2).md",
        "A/Notes (3).md",
    ]


def read_blob(database: TestDatabase, storage_key: str) -> bytes:
    return Path(database.base_dir / "blobs" / storage_key).read_bytes()
