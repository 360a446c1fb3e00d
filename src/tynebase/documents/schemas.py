"""Request and response shapes for documents, versions, lineage and share links."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from tynebase.auth.principal import Principal
from tynebase.documents import access
from tynebase.documents.repo import Document

# PostgreSQL text cannot hold NUL: refuse it here (400) rather than fail the write (500).
NO_NUL = r"^[^\x00]*$"

Status = Literal["draft", "in_review", "published"]
Visibility = Literal["private", "team", "public"]
# The body limit (10 MB, in bytes) is checked by the service, with its own code.
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NO_NUL)
]
Body = Annotated[str, StringConstraints(pattern=NO_NUL)]
TagName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=NO_NUL)
]
Tags = Annotated[list[TagName], Field(max_length=50)]


class DocumentIn(BaseModel):
    title: Title
    body: Body = ""
    visibility: Visibility = "team"
    category_id: UUID | None = None
    tags: Tags = []


class DocumentUpdateIn(BaseModel):
    """Only the fields sent change. `"category_id": null` moves the document to Uncategorised;
    `tags` replaces the document's tags. On a published document, `title` and `body` go to its
    pending draft until someone publishes it."""

    title: Title | None = None
    body: Body | None = None
    visibility: Visibility | None = None
    category_id: UUID | None = None
    tags: Tags | None = None


class PendingDraftOut(BaseModel):
    """A published document's unpublished edit: shown only to those who may edit it."""

    title: str
    body: str
    updated_at: datetime | None


class PermissionsOut(BaseModel):
    """What the caller may do with this document."""

    edit: bool
    publish: bool
    delete: bool
    share: bool


class DocumentSummaryOut(BaseModel):
    id: UUID
    title: str
    status: Status
    visibility: Visibility
    category_id: UUID | None
    author_id: UUID | None
    tags: list[str]
    current_version: int
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DocumentOut(DocumentSummaryOut):
    body: str
    pending_draft: PendingDraftOut | None
    permissions: PermissionsOut


class DocumentPageOut(BaseModel):
    items: list[DocumentSummaryOut]
    next_cursor: str | None  # pass as `cursor` for the next page; null on the last one


class VersionSummaryOut(BaseModel):
    number: int
    title: str
    reason: str
    created_by: UUID | None
    created_at: datetime


class VersionOut(VersionSummaryOut):
    body: str


class VersionPageOut(BaseModel):
    items: list[VersionSummaryOut]
    next_cursor: str | None


class DiffOut(BaseModel):
    from_version: int
    to_version: int
    title_diff: str  # unified diff; empty when equal
    body_diff: str
    additions: int  # lines added, title and body together
    deletions: int


class LineageEntryOut(BaseModel):
    id: int
    event: str
    actor_id: UUID | None
    version: int | None
    details: dict[str, Any]
    created_at: datetime


class LineagePageOut(BaseModel):
    items: list[LineageEntryOut]
    next_cursor: str | None


class ShareIn(BaseModel):
    expires_in_days: Annotated[int, Field(ge=1, le=365)] = 30


class ShareOut(BaseModel):
    id: UUID
    document_id: UUID
    created_by: UUID | None
    expires_at: datetime
    revoked_at: datetime | None
    last_viewed_at: datetime | None
    created_at: datetime
    status: Literal["active", "expired", "revoked"]


class ShareCreatedOut(ShareOut):
    token: str  # shown once; only its hash is stored
    url: str  # the public read endpoint for this token


class SharedDocumentOut(BaseModel):
    """All a share link reveals: the published title and body (Markdown, and as safe HTML)."""

    title: str
    body: str
    html: str


def document_out(principal: Principal, document: Document, tags: list[str]) -> DocumentOut:
    """What a caller sees of a document: the pending draft only if they may edit it."""
    rights = document.rights
    editable = access.can_edit(principal, **rights)
    pending = None
    if editable and document.has_pending_draft:
        pending = PendingDraftOut(
            title=document.draft_title if document.draft_title is not None else document.title,
            body=document.draft_body if document.draft_body is not None else document.body,
            updated_at=document.draft_updated_at,
        )
    return DocumentOut(
        id=document.id,
        title=document.title,
        body=document.body,
        status=document.status,
        visibility=document.visibility,
        category_id=document.category_id,
        author_id=document.author_id,
        tags=tags,
        current_version=document.current_version,
        published_at=document.published_at,
        created_at=document.created_at,
        updated_at=document.updated_at,
        pending_draft=pending,
        permissions=PermissionsOut(
            edit=editable,
            publish=access.can_publish(principal, **rights),
            delete=access.can_delete(principal, **rights),
            share=editable and document.status == "published",
        ),
    )
