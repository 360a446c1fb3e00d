"""Collection routes: /api/collections, its members and its documents (rules in
`tynebase.taxonomy.collections_service`)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.taxonomy import collections_service as service
from tynebase.taxonomy.collections_repo import (
    CollectionDocument,
    CollectionMember,
    CollectionRow,
)
from tynebase.taxonomy.schemas import (
    CollectionDetailOut,
    CollectionDocumentIn,
    CollectionDocumentOut,
    CollectionDocumentsOut,
    CollectionIn,
    CollectionMemberIn,
    CollectionMemberOut,
    CollectionOut,
    CollectionUpdateIn,
)

router = APIRouter(prefix="/api/collections", tags=["collections"], responses=COMMON_ERRORS)


def _collection_out(row: CollectionRow, level: service.Level) -> CollectionOut:
    collection = row.collection
    return CollectionOut(
        id=collection.id,
        name=collection.name,
        description=collection.description,
        visibility=collection.visibility,
        created_by=collection.created_by,
        created_at=collection.created_at,
        access=level,
        document_count=row.document_count,
    )


def _member_out(member: CollectionMember) -> CollectionMemberOut:
    return CollectionMemberOut(
        user_id=member.user_id,
        name=member.name,
        email=member.email,
        role=member.role,
        added_at=member.added_at,
    )


def _document_out(document: CollectionDocument) -> CollectionDocumentOut:
    return CollectionDocumentOut(
        id=document.id,
        title=document.title,
        status=document.status,
        visibility=document.visibility,
        category_id=document.category_id,
        updated_at=document.updated_at,
        position=document.position,
        added_at=document.added_at,
    )


async def _detail(ctx: AuthCtx, collection_id: UUID) -> CollectionDetailOut:
    row, level = await service.collection_row(
        ctx.conn, principal=ctx.principal, collection_id=collection_id
    )
    members = await service.list_members(
        ctx.conn, principal=ctx.principal, collection_id=collection_id
    )
    return CollectionDetailOut(
        **_collection_out(row, level).model_dump(), members=[_member_out(m) for m in members]
    )


@router.get("")
async def list_collections(ctx: AuthCtx) -> list[CollectionOut]:
    """The collections the caller sees, each with what they may do and how many of its
    documents they may read."""
    rows = await service.list_collections(ctx.conn, principal=ctx.principal)
    return [_collection_out(row, level) for row, level in rows]


@router.post("", status_code=201)
async def create_collection(body: CollectionIn, ctx: AuthCtx) -> CollectionDetailOut:
    collection = await service.do_create(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        name=body.name,
        description=body.description,
        visibility=body.visibility,
    )
    return await _detail(ctx, collection.id)


@router.get("/{collection_id}")
async def get_collection(collection_id: UUID, ctx: AuthCtx) -> CollectionDetailOut:
    return await _detail(ctx, collection_id)


@router.patch("/{collection_id}")
async def update_collection(
    collection_id: UUID, body: CollectionUpdateIn, ctx: AuthCtx
) -> CollectionDetailOut:
    await service.do_update(
        ctx.conn,
        principal=ctx.principal,
        collection_id=collection_id,
        name=body.name,
        description=body.description,
        visibility=body.visibility,
    )
    return await _detail(ctx, collection_id)


@router.delete("/{collection_id}", status_code=204, response_class=Response)
async def delete_collection(collection_id: UUID, ctx: AuthCtx) -> None:
    """Deletes the collection only; its documents stay where they are."""
    await service.do_delete(ctx.conn, principal=ctx.principal, collection_id=collection_id)


@router.put("/{collection_id}/members/{user_id}")
async def put_member(
    collection_id: UUID, user_id: UUID, body: CollectionMemberIn, ctx: AuthCtx
) -> CollectionMemberOut:
    """Add a workspace member to the collection, or change their collection role."""
    member = await service.do_put_member(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        collection_id=collection_id,
        user_id=user_id,
        role=body.role,
    )
    return _member_out(member)


@router.delete("/{collection_id}/members/{user_id}", status_code=204, response_class=Response)
async def remove_member(collection_id: UUID, user_id: UUID, ctx: AuthCtx) -> None:
    await service.do_remove_member(
        ctx.conn, principal=ctx.principal, collection_id=collection_id, user_id=user_id
    )


@router.get("/{collection_id}/documents")
async def list_documents(
    collection_id: UUID,
    ctx: AuthCtx,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> CollectionDocumentsOut:
    """The collection's documents the caller may read, in order; pass `next_cursor` back as
    `cursor` for the next page."""
    page, next_cursor = await service.list_documents(
        ctx.conn, principal=ctx.principal, collection_id=collection_id, cursor=cursor, limit=limit
    )
    return CollectionDocumentsOut(items=[_document_out(d) for d in page], next_cursor=next_cursor)


@router.put("/{collection_id}/documents/{document_id}")
async def put_document(
    collection_id: UUID,
    document_id: UUID,
    ctx: AuthCtx,
    body: CollectionDocumentIn | None = None,
) -> CollectionDocumentOut:
    """Add a document (last, unless `position` says), or move it to `position`."""
    document = await service.do_put_document(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        collection_id=collection_id,
        document_id=document_id,
        position=(body or CollectionDocumentIn()).position,
    )
    return _document_out(document)


@router.delete("/{collection_id}/documents/{document_id}", status_code=204, response_class=Response)
async def remove_document(collection_id: UUID, document_id: UUID, ctx: AuthCtx) -> None:
    await service.do_remove_document(
        ctx.conn, principal=ctx.principal, collection_id=collection_id, document_id=document_id
    )
