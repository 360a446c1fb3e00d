"""Document routes: /api/documents (CRUD, workflow, versions, lineage, shares), /api/shares and
the public read endpoint /api/public/share/{token}."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response

from tynebase.api.deps import AuthCtx, app_state
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.db.metadata import AnyRow
from tynebase.documents import lineage, service, shares, versions, workflow
from tynebase.documents.cursor import MAX_CURSOR_CHARS
from tynebase.documents.render import render_safe_html
from tynebase.documents.repo import Document, ListFilters
from tynebase.documents.schemas import (
    NO_NUL,
    DiffOut,
    DocumentIn,
    DocumentOut,
    DocumentPageOut,
    DocumentSummaryOut,
    DocumentUpdateIn,
    LineageEntryOut,
    LineagePageOut,
    ShareCreatedOut,
    SharedDocumentOut,
    ShareIn,
    ShareOut,
    Status,
    VersionOut,
    VersionPageOut,
    VersionSummaryOut,
    Visibility,
    document_out,
)

router = APIRouter(prefix="/api/documents", tags=["documents"], responses=COMMON_ERRORS)
shares_router = APIRouter(prefix="/api/shares", tags=["shares"], responses=COMMON_ERRORS)
public_router = APIRouter(prefix="/api/public", tags=["public"], responses=COMMON_ERRORS)

VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR_CHARS)]


async def _respond(ctx: AuthCtx, document: Document) -> DocumentOut:
    return document_out(ctx.principal, document, await service.tags_of(ctx.conn, document.id))


# --- CRUD ----------------------------------------------------------------------------------------


@router.post("", status_code=201)
async def create_document(body: DocumentIn, ctx: AuthCtx) -> DocumentOut:
    document = await service.do_create(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        title=body.title,
        body=body.body,
        visibility=body.visibility,
        category_id=body.category_id,
        tags=body.tags,
    )
    return await _respond(ctx, document)


@router.get("")
async def list_documents(
    ctx: AuthCtx,
    category_id: UUID | None = None,
    uncategorised: bool = False,
    tag: Annotated[str | None, Query(min_length=1, max_length=64, pattern=NO_NUL)] = None,
    status: Status | None = None,
    author_id: UUID | None = None,
    visibility: Visibility | None = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=200, pattern=NO_NUL, description="title contains"),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DocumentPageOut:
    """Documents the caller may read, most recently changed first, one page at a time."""
    page = await service.list_documents(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        filters=ListFilters(
            category_id=category_id,
            uncategorised=uncategorised,
            tag=tag.strip() if tag else None,
            status=status,
            author_id=author_id,
            visibility=visibility,
            q=q,
        ),
        cursor_token=cursor,
        limit=limit,
    )
    return DocumentPageOut(
        items=[
            DocumentSummaryOut.model_validate(
                {**row._mapping, "tags": page.tags[row.id]}, from_attributes=False
            )
            for row in page.rows
        ],
        next_cursor=page.next_cursor,
    )


@router.get("/{document_id}")
async def get_document(document_id: UUID, ctx: AuthCtx) -> DocumentOut:
    document = await service.access_document(
        ctx.conn, principal=ctx.principal, document_id=document_id
    )
    return await _respond(ctx, document)


@router.patch("/{document_id}")
async def update_document(document_id: UUID, body: DocumentUpdateIn, ctx: AuthCtx) -> DocumentOut:
    document = await service.do_update(
        ctx.conn,
        principal=ctx.principal,
        document_id=document_id,
        title=body.title,
        body=body.body,
        visibility=body.visibility,
        category_id=body.category_id if "category_id" in body.model_fields_set else service.KEEP,
        tags=body.tags,
    )
    return await _respond(ctx, document)


@router.delete("/{document_id}", status_code=204, response_class=Response)
async def delete_document(document_id: UUID, ctx: AuthCtx) -> None:
    await service.do_delete(ctx.conn, principal=ctx.principal, document_id=document_id)


# --- workflow ------------------------------------------------------------------------------------


@router.post("/{document_id}/submit")
async def submit_document(document_id: UUID, ctx: AuthCtx) -> DocumentOut:
    document = await workflow.do_submit(ctx.conn, principal=ctx.principal, document_id=document_id)
    return await _respond(ctx, document)


@router.post("/{document_id}/publish")
async def publish_document(document_id: UUID, ctx: AuthCtx) -> DocumentOut:
    document = await workflow.do_publish(ctx.conn, principal=ctx.principal, document_id=document_id)
    return await _respond(ctx, document)


@router.post("/{document_id}/discard-draft")
async def discard_draft(document_id: UUID, ctx: AuthCtx) -> DocumentOut:
    document = await workflow.do_discard_draft(
        ctx.conn, principal=ctx.principal, document_id=document_id
    )
    return await _respond(ctx, document)


# --- versions and lineage ------------------------------------------------------------------------


@router.get("/{document_id}/versions")
async def list_versions(
    document_id: UUID, ctx: AuthCtx, limit: Limit = 50, cursor: Cursor = None
) -> VersionPageOut:
    page = await versions.list_versions(
        ctx.conn, principal=ctx.principal, document_id=document_id, cursor_token=cursor, limit=limit
    )
    return VersionPageOut(
        items=[VersionSummaryOut.model_validate(row, from_attributes=True) for row in page.rows],
        next_cursor=page.next_cursor,
    )


@router.get("/{document_id}/versions/{number}")
async def get_version(document_id: UUID, number: VersionNumber, ctx: AuthCtx) -> VersionOut:
    row = await versions.access_version(
        ctx.conn, principal=ctx.principal, document_id=document_id, number=number
    )
    return VersionOut.model_validate(row, from_attributes=True)


@router.get("/{document_id}/diff")
async def diff_versions(
    document_id: UUID,
    ctx: AuthCtx,
    from_: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    to: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="default: latest")] = None,
) -> DiffOut:
    result = await versions.diff(
        ctx.conn, principal=ctx.principal, document_id=document_id, from_number=from_, to_number=to
    )
    return DiffOut(
        from_version=result.from_number,
        to_version=result.to_number,
        title_diff=result.title_diff,
        body_diff=result.body_diff,
        additions=result.additions,
        deletions=result.deletions,
    )


@router.post("/{document_id}/versions/{number}/restore")
async def restore_version(document_id: UUID, number: VersionNumber, ctx: AuthCtx) -> DocumentOut:
    document = await versions.do_restore(
        ctx.conn, principal=ctx.principal, document_id=document_id, number=number
    )
    return await _respond(ctx, document)


@router.get("/{document_id}/lineage")
async def get_lineage(
    document_id: UUID, ctx: AuthCtx, limit: Limit = 100, cursor: Cursor = None
) -> LineagePageOut:
    """Every lifecycle event, oldest first; still readable after the document is deleted."""
    page = await lineage.list_page(
        ctx.conn, principal=ctx.principal, document_id=document_id, cursor_token=cursor, limit=limit
    )
    return LineagePageOut(
        items=[LineageEntryOut.model_validate(row, from_attributes=True) for row in page.rows],
        next_cursor=page.next_cursor,
    )


# --- share links ---------------------------------------------------------------------------------


def _share_out(row: AnyRow) -> ShareOut:
    return ShareOut.model_validate(
        {**row._mapping, "status": shares.share_status(row, shares.now())}
    )


@router.post("/{document_id}/shares", status_code=201)
async def create_share(document_id: UUID, body: ShareIn, ctx: AuthCtx) -> ShareCreatedOut:
    created = await shares.do_create(
        ctx.conn,
        principal=ctx.principal,
        document_id=document_id,
        expires_in_days=body.expires_in_days,
    )
    base = ctx.state.settings.public_url.rstrip("/")
    return ShareCreatedOut(
        **_share_out(created.row).model_dump(),
        token=created.token,
        url=f"{base}/api/public/share/{created.token}",
    )


@router.get("/{document_id}/shares")
async def list_shares(document_id: UUID, ctx: AuthCtx) -> list[ShareOut]:
    rows = await shares.list_for_document(
        ctx.conn, principal=ctx.principal, document_id=document_id
    )
    return [_share_out(row) for row in rows]


@shares_router.delete("/{share_id}", status_code=204, response_class=Response)
async def revoke_share(share_id: UUID, ctx: AuthCtx) -> None:
    await shares.do_revoke(ctx.conn, principal=ctx.principal, share_id=share_id)


@public_router.get("/share/{token}")
async def read_share(token: str, request: Request, response: Response) -> SharedDocumentOut:
    """No credentials: the token is one, and it names its workspace (see `shares`)."""
    # The link must stop working the moment it is revoked, and must not leak onward.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    tenant_id = shares.tenant_of_token(token)
    state = app_state(request)
    async with state.db.unit_of_work(tenant_id) as conn:
        shared = await shares.do_view(conn, token=token, tenant_id=tenant_id)
    request.scope["state"]["tenant"] = shared.tenant_subdomain
    return SharedDocumentOut(
        title=shared.title, body=shared.body, html=await render_safe_html(shared.body)
    )
