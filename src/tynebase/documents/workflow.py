"""The workflow (DOC-2): draft → in_review → published, and a published document's pending draft.

- contributors (their own documents) and editors submit a draft for review;
- editors and admins publish: a draft or a document in review becomes published, or a
  published document's pending draft replaces what readers see; each publish is a new version;
- a pending draft can be discarded, and readers never saw it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.documents import access, editing, lineage, repo
from tynebase.documents.repo import Document
from tynebase.documents.service import access_document, request_reindex
from tynebase.errors import Conflict


async def do_submit(conn: AsyncConnection, *, principal: Principal, document_id: UUID) -> Document:
    """Ask for review: a draft goes to `in_review`; a published document's pending draft is
    submitted as it stands (the document stays published, the lineage records the request)."""
    document = await access_document(
        conn, principal=principal, document_id=document_id, for_update=True
    )
    access.check_edit(principal, **document.rights)
    if document.status == "in_review":
        raise Conflict("This document is already in review", code="ALREADY_IN_REVIEW")
    if document.status == "published" and not document.has_pending_draft:
        raise Conflict(
            "This document is published and has no pending changes to review",
            code="NOTHING_TO_SUBMIT",
        )
    pending = document.status == "published"
    if not pending:
        document = await repo.update(conn, document_id, status="in_review")
    await lineage.record(
        conn,
        tenant_id=document.tenant_id,
        document_id=document_id,
        event="submitted",
        actor_id=principal.user_id,
        version=document.current_version,
        details={"pending_draft": pending},
    )
    return document


async def do_publish(conn: AsyncConnection, *, principal: Principal, document_id: UUID) -> Document:
    """Make the document's text (or its pending draft) what readers see, as a new version."""
    document = await access_document(
        conn, principal=principal, document_id=document_id, for_update=True
    )
    principal.check_role("editor")
    if document.status == "published" and not document.has_pending_draft:
        raise Conflict(
            "This document is published and has no pending changes", code="NOTHING_TO_PUBLISH"
        )
    # The editing text becomes what readers see: collaborators' text does not change.
    title, body = document.editing_title, document.editing_body
    number = document.current_version + 1
    await repo.insert_version(
        conn,
        tenant_id=document.tenant_id,
        document_id=document_id,
        number=number,
        title=title,
        body=body,
        reason="publish",
        created_by=principal.user_id,
    )
    published = await repo.update(
        conn,
        document_id,
        title=title,
        body=body,
        status="published",
        published_at=sa.func.now(),
        current_version=number,
        **_NO_DRAFT,
    )
    await lineage.record(
        conn,
        tenant_id=document.tenant_id,
        document_id=document_id,
        event="published",
        actor_id=principal.user_id,
        version=number,
        details={"from_status": document.status, "pending_draft": document.has_pending_draft},
    )
    await request_reindex(conn, document=published, actor_id=principal.user_id)
    return published


_NO_DRAFT: dict[str, Any] = {"draft_title": None, "draft_body": None, "draft_updated_at": None}


async def do_discard_draft(
    conn: AsyncConnection, *, principal: Principal, document_id: UUID
) -> Document:
    """Throw away a published document's pending draft; readers never saw it."""
    document = await access_document(
        conn, principal=principal, document_id=document_id, for_update=True
    )
    access.check_edit(principal, **document.rights)
    if not document.has_pending_draft:
        raise Conflict("This document has no pending draft", code="NO_PENDING_DRAFT")
    discarded = await repo.update(conn, document_id, touch=False, **_NO_DRAFT)
    await editing.do_announce(conn, before=document, after=discarded)
    await lineage.record(
        conn,
        tenant_id=document.tenant_id,
        document_id=document_id,
        event="draft_discarded",
        actor_id=principal.user_id,
        version=document.current_version,
    )
    return discarded
