"""Versions (DOC-3): list, view, diff any two, restore as a new version (history is never
rewritten). Whoever may edit a document sees all its versions; other readers only the
versions that were published (`access.published_versions_clause`)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from uuid import UUID

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.db.metadata import AnyRow
from tynebase.documents import access, cursor, editing, lineage, repo
from tynebase.documents.models import document_versions
from tynebase.documents.repo import Document
from tynebase.documents.service import access_document, request_reindex
from tynebase.errors import NotFound

MAX_PAGE = 100
_SUMMARY = tuple(
    document_versions.c[name] for name in ("number", "title", "reason", "created_by", "created_at")
)


def _version_not_found(number: int) -> NotFound:
    return NotFound("Version not found", code="VERSION_NOT_FOUND", details={"number": number})


def _visible(principal: Principal, document: Document) -> list[sa.ColumnElement[bool]]:
    conditions = [document_versions.c.document_id == document.id]
    if not access.can_edit(principal, **document.rights):
        conditions.append(access.published_versions_clause(document.id))
    return conditions


@dataclass(frozen=True)
class VersionPage:
    rows: list[AnyRow]
    next_cursor: str | None


async def list_versions(
    conn: AsyncConnection,
    *,
    principal: Principal,
    document_id: UUID,
    cursor_token: str | None,
    limit: int,
) -> VersionPage:
    """Versions the caller may see, newest first (no bodies)."""
    document = await access_document(conn, principal=principal, document_id=document_id)
    limit = max(1, min(limit, MAX_PAGE))
    conditions = _visible(principal, document)
    if cursor_token:
        conditions.append(document_versions.c.number < cursor.decode_int(cursor_token))
    query = (
        sa.select(*_SUMMARY)
        .where(*conditions)
        .order_by(document_versions.c.number.desc())
        .limit(limit + 1)
    )
    rows = list((await conn.execute(query)).all())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursor.encode(rows[-1].number)
    return VersionPage(rows=rows, next_cursor=next_cursor)


async def _get(
    conn: AsyncConnection, principal: Principal, document: Document, number: int
) -> AnyRow:
    query = sa.select(document_versions).where(
        *_visible(principal, document), document_versions.c.number == number
    )
    row = (await conn.execute(query)).first()
    if row is None:
        raise _version_not_found(number)
    return row


async def access_version(
    conn: AsyncConnection, *, principal: Principal, document_id: UUID, number: int
) -> AnyRow:
    """One version with its body, if the caller may see it (404 VERSION_NOT_FOUND otherwise)."""
    document = await access_document(conn, principal=principal, document_id=document_id)
    return await _get(conn, principal, document, number)


@dataclass(frozen=True)
class Diff:
    from_number: int
    to_number: int
    title_diff: str
    body_diff: str
    additions: int
    deletions: int


def _unified(old: str, new: str, *, old_name: str, new_name: str) -> tuple[str, int, int]:
    lines = list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), fromfile=old_name, tofile=new_name, lineterm=""
        )
    )
    changes = [line for line in lines if not line.startswith(("---", "+++", "@@"))]
    additions = sum(1 for line in changes if line.startswith("+"))
    deletions = sum(1 for line in changes if line.startswith("-"))
    return "\n".join(lines), additions, deletions


def compute_diff(old: AnyRow, new: AnyRow) -> Diff:
    names = {"old_name": f"v{old.number}", "new_name": f"v{new.number}"}
    title_diff, title_add, title_del = _unified(old.title, new.title, **names)
    body_diff, body_add, body_del = _unified(old.body, new.body, **names)
    return Diff(
        from_number=old.number,
        to_number=new.number,
        title_diff=title_diff,
        body_diff=body_diff,
        additions=title_add + body_add,
        deletions=title_del + body_del,
    )


async def diff(
    conn: AsyncConnection,
    *,
    principal: Principal,
    document_id: UUID,
    from_number: int,
    to_number: int | None,
) -> Diff:
    """Unified diff (title and body) between two versions; `to` defaults to the latest."""
    document = await access_document(conn, principal=principal, document_id=document_id)
    old = await _get(conn, principal, document, from_number)
    new = await _get(conn, principal, document, to_number or document.current_version)
    # difflib is pure Python and bodies reach 10 MB: keep it off the event loop.
    return await anyio.to_thread.run_sync(compute_diff, old, new)


async def do_restore(
    conn: AsyncConnection, *, principal: Principal, document_id: UUID, number: int
) -> Document:
    """Make version `number`'s text current again, as a new version with reason `restore`.

    On a published document this changes what readers see, so it needs an editor; a pending
    draft is kept (it was someone's work in progress). On a draft, the author may restore.
    """
    document = await access_document(
        conn, principal=principal, document_id=document_id, for_update=True
    )
    access.check_edit(principal, **document.rights)
    if document.status == "published":
        principal.check_role("editor")
    version = await _get(conn, principal, document, number)
    new_number = document.current_version + 1
    await repo.insert_version(
        conn,
        tenant_id=document.tenant_id,
        document_id=document_id,
        number=new_number,
        title=version.title,
        body=version.body,
        reason="restore",
        created_by=principal.user_id,
    )
    restored = await repo.update(
        conn, document_id, title=version.title, body=version.body, current_version=new_number
    )
    await editing.do_announce(conn, before=document, after=restored)
    await lineage.record(
        conn,
        tenant_id=document.tenant_id,
        document_id=document_id,
        event="restored",
        actor_id=principal.user_id,
        version=new_number,
        details={"from_version": number},
    )
    await request_reindex(conn, document=restored, actor_id=principal.user_id)
    return restored
