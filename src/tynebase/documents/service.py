"""Document rules: content limits, access, creation, edits, moves, tags, deletion and lists.

The workflow (submit, publish, pending drafts) is in `workflow`, history in `versions`, share
links in `shares`, the lineage record in `lineage`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.db.metadata import AnyRow
from tynebase.documents import access, cursor, editing, lineage, repo
from tynebase.documents.repo import Document, ListFilters
from tynebase.errors import Forbidden, NotFound, ValidationFailed
from tynebase.rag import indexing

MAX_TITLE_CHARS = 500
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_TAG_CHARS = 64
MAX_TAGS = 50
MAX_PAGE = 100


class Keep(enum.Enum):
    """A field left out of an update (where `None` means "set to nothing")."""

    KEEP = "keep"


KEEP = Keep.KEEP


def check_content(*, title: str | None, body: str | None) -> None:
    # PostgreSQL text cannot hold NUL: refuse it here (400) rather than fail the write (500).
    if title is not None and (not 1 <= len(title.strip()) <= MAX_TITLE_CHARS or "\x00" in title):
        raise ValidationFailed(
            f"Title must have 1 to {MAX_TITLE_CHARS} characters",
            details={"field": "title", "max": MAX_TITLE_CHARS},
        )
    if body is not None and len(body.encode()) > MAX_BODY_BYTES:
        raise ValidationFailed(
            "Body is larger than 10 MB",
            code="DOCUMENT_TOO_LARGE",
            details={"field": "body", "max_bytes": MAX_BODY_BYTES},
        )
    if body is not None and "\x00" in body:
        raise ValidationFailed("Body must not contain NUL characters", details={"field": "body"})


def check_tags(names: Sequence[str]) -> list[str]:
    """Tag names as stored: stripped, 1..64 characters, no duplicates, at most 50."""
    cleaned = list(dict.fromkeys(name.strip() for name in names))
    if len(cleaned) > MAX_TAGS or any(
        not 1 <= len(name) <= MAX_TAG_CHARS or "\x00" in name for name in cleaned
    ):
        raise ValidationFailed(
            f"At most {MAX_TAGS} tags of 1 to {MAX_TAG_CHARS} characters each",
            details={"field": "tags", "max": MAX_TAGS, "max_chars": MAX_TAG_CHARS},
        )
    return cleaned


async def check_category(conn: AsyncConnection, category_id: UUID) -> None:
    """The category must be one of this workspace's (read through RLS, so another tenant's id
    is simply unknown; the composite foreign key would refuse it too)."""
    if not await repo.category_exists(conn, category_id):
        raise NotFound(
            "Category not found",
            code="CATEGORY_NOT_FOUND",
            details={"category_id": str(category_id)},
        )


async def access_document(
    conn: AsyncConnection, *, principal: Principal, document_id: UUID, for_update: bool = False
) -> Document:
    """The document if the caller may read it; the same 404 whether missing or not theirs."""
    document = await repo.get(conn, document_id, for_update=for_update)
    if document is None or not access.can_read(principal, **document.rights):
        raise NotFound("Document not found", code="DOCUMENT_NOT_FOUND")
    return document


async def request_reindex(
    conn: AsyncConnection, *, document: Document, actor_id: UUID | None
) -> None:
    """Queue the retrieval index's update for `document` in the caller's transaction (RAG-2);
    repeated requests before it runs share one job."""
    await indexing.do_request_index(
        conn, tenant_id=document.tenant_id, document_id=document.id, requested_by=actor_id
    )


async def tags_of(conn: AsyncConnection, document_id: UUID) -> list[str]:
    return (await repo.tag_names(conn, [document_id]))[document_id]


async def do_create(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    title: str,
    body: str = "",
    visibility: str = "team",
    category_id: UUID | None = None,
    tags: Sequence[str] = (),
    version_reason: str = "create",
    lineage_event: str = "created",
    lineage_details: dict[str, Any] | None = None,
) -> Document:
    """A new draft with version 1 and its lineage entry. Creating needs the contributor role."""
    principal.check_role("contributor")
    check_content(title=title, body=body)
    tag_names = check_tags(tags)
    if category_id is not None:
        await check_category(conn, category_id)
    document = await repo.insert(
        conn,
        tenant_id=tenant_id,
        title=title.strip(),
        body=body,
        visibility=visibility,
        category_id=category_id,
        author_id=principal.user_id,
        current_version=1,
    )
    await repo.insert_version(
        conn,
        tenant_id=tenant_id,
        document_id=document.id,
        number=1,
        title=document.title,
        body=body,
        reason=version_reason,
        created_by=principal.user_id,
    )
    if tag_names:
        await repo.set_tags(conn, tenant_id=tenant_id, document_id=document.id, names=tag_names)
    await lineage.record(
        conn,
        tenant_id=tenant_id,
        document_id=document.id,
        event=lineage_event,
        actor_id=principal.user_id,
        version=1,
        details=lineage_details,
    )
    await request_reindex(conn, document=document, actor_id=principal.user_id)
    return document


def _pending_draft(document: Document, *, title: str | None, body: str | None) -> dict[str, Any]:
    """A published document's edit goes to its pending draft, based on any earlier one."""
    base_title = document.draft_title if document.draft_title is not None else document.title
    base_body = document.draft_body if document.draft_body is not None else document.body
    return {
        "draft_title": base_title if title is None else title,
        "draft_body": base_body if body is None else body,
        "draft_updated_at": sa.func.now(),
    }


async def do_update(
    conn: AsyncConnection,
    *,
    principal: Principal,
    document_id: UUID,
    title: str | None = None,
    body: str | None = None,
    visibility: str | None = None,
    category_id: UUID | Keep | None = KEEP,
    tags: Sequence[str] | None = None,
    announce: bool = True,
) -> Document:
    """Edit content and metadata. On a published document, title and body go to the pending
    draft (readers keep seeing the published text); visibility, category and tags apply now.
    Records one `edited` lineage entry per call, and `moved` when the category changes. A new
    editing text is announced (`editing`) unless the caller is the one that holds the live copy
    (the collaboration projection passes `announce=False`)."""
    document = await access_document(
        conn, principal=principal, document_id=document_id, for_update=True
    )
    access.check_edit(principal, **document.rights)
    check_content(title=title, body=body)
    title = title.strip() if title is not None else None
    values: dict[str, Any] = {}
    changed: list[str] = [
        name for name, value in (("title", title), ("body", body)) if value is not None
    ]
    content_to_draft = bool(changed) and document.status == "published"
    if content_to_draft:
        values.update(_pending_draft(document, title=title, body=body))
    else:
        values.update(
            {name: value for name, value in (("title", title), ("body", body)) if value is not None}
        )
    if visibility is not None and visibility != document.visibility:
        values["visibility"] = visibility
        changed.append("visibility")
    moved = False
    if category_id is not KEEP and category_id != document.category_id:
        if category_id is not None:
            await check_category(conn, category_id)
        values["category_id"] = category_id
        moved = True
    if tags is not None:
        names = check_tags(tags)
        if sorted(names) != await tags_of(conn, document_id):
            await repo.set_tags(
                conn, tenant_id=document.tenant_id, document_id=document_id, names=names
            )
            changed.append("tags")
    if not values and not changed:
        return document
    # Only a pending draft changed: nothing readers see is new, so the list order stays.
    readers_see_news = not content_to_draft or set(changed) - {"title", "body"} or moved
    updated = await repo.update(conn, document_id, touch=bool(readers_see_news), **values)
    if announce:
        await editing.do_announce(conn, before=document, after=updated)
    if values:
        await request_reindex(conn, document=updated, actor_id=principal.user_id)
    common = {"tenant_id": document.tenant_id, "document_id": document_id}
    if changed:
        await lineage.record(
            conn,
            **common,
            event="edited",
            actor_id=principal.user_id,
            version=document.current_version,
            details={"fields": changed, "pending_draft": content_to_draft},
        )
    if moved:
        await lineage.record(
            conn,
            **common,
            event="moved",
            actor_id=principal.user_id,
            version=document.current_version,
            details={
                "from": str(document.category_id) if document.category_id else None,
                "to": str(category_id) if category_id else None,
            },
        )
    return updated


async def do_delete(conn: AsyncConnection, *, principal: Principal, document_id: UUID) -> None:
    """Delete a document with its versions, tags and shares; its lineage stays (DOC-7)."""
    document = await access_document(
        conn, principal=principal, document_id=document_id, for_update=True
    )
    access.check_edit(principal, **document.rights)
    if not access.can_delete(principal, **document.rights):
        raise Forbidden(
            "Deleting a published document needs the editor role",
            code="INSUFFICIENT_ROLE",
            details={"required": "editor", "role": principal.role},
        )
    # Who could read it, kept for reading the lineage after the row is gone (`lineage`).
    await lineage.record(
        conn,
        tenant_id=document.tenant_id,
        document_id=document_id,
        event="deleted",
        actor_id=principal.user_id,
        version=document.current_version,
        details={
            "author_id": str(document.author_id) if document.author_id else None,
            "status": document.status,
            "visibility": document.visibility,
        },
    )
    await repo.delete(conn, document_id)


@dataclass(frozen=True)
class Page:
    rows: list[AnyRow]
    tags: dict[UUID, list[str]]
    next_cursor: str | None


async def list_documents(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    filters: ListFilters,
    cursor_token: str | None,
    limit: int,
) -> Page:
    """One page of the documents the caller may read, newest change first."""
    if filters.category_id is not None and filters.uncategorised:
        raise ValidationFailed(
            "Give category_id or uncategorised, not both",
            details={"fields": ["category_id", "uncategorised"]},
        )
    limit = max(1, min(limit, MAX_PAGE))
    after = cursor.decode_time_id(cursor_token) if cursor_token else None
    rows = await repo.list_page(
        conn,
        principal=principal,
        tenant_id=tenant_id,
        filters=filters,
        after=after,
        limit=limit + 1,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = cursor.encode_time_id(rows[-1].updated_at, rows[-1].id)
    return Page(
        rows=rows,
        tags=await repo.tag_names(conn, [row.id for row in rows]),
        next_cursor=next_cursor,
    )
