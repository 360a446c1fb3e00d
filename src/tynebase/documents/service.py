"""Document rules: creation, access, and the workflow draft → review → published."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.documents import access, lineage, repo
from tynebase.documents.repo import Document
from tynebase.errors import NotFound, ValidationFailed

MAX_TITLE_CHARS = 500
MAX_BODY_BYTES = 10 * 1024 * 1024


def check_content(*, title: str | None, body: str | None) -> None:
    if title is not None and not 1 <= len(title.strip()) <= MAX_TITLE_CHARS:
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


async def access_document(
    conn: AsyncConnection, *, principal: Principal, document_id: UUID, for_update: bool = False
) -> Document:
    """The document if the caller may read it; the same 404 whether missing or not theirs."""
    document = await repo.get(conn, document_id, for_update=for_update)
    if document is None or not access.can_read(
        principal,
        author_id=document.author_id,
        status=document.status,
        visibility=document.visibility,
    ):
        raise NotFound("Document not found", code="DOCUMENT_NOT_FOUND")
    return document


async def do_create(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    title: str,
    body: str = "",
    visibility: str = "team",
    category_id: UUID | None = None,
    version_reason: str = "create",
    lineage_event: str = "created",
    lineage_details: dict[str, Any] | None = None,
) -> Document:
    """A new draft with version 1 and its lineage entry. Creating needs the contributor role."""
    principal.check_role("contributor")
    check_content(title=title, body=body)
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
    await lineage.record(
        conn,
        tenant_id=tenant_id,
        document_id=document.id,
        event=lineage_event,
        actor_id=principal.user_id,
        version=1,
        details=lineage_details,
    )
    return document
