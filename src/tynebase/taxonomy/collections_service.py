"""Collections (DOC-4): named, ordered sets of documents with members.

Who sees a collection:

- team: every member of the workspace;
- private: its creator, its members and the workspace's admins. Anyone else gets the same 404
  as for a collection that does not exist.

What a caller may do with a collection they see (`access`: read < edit < manage):

- Every change needs the contributor role or higher in the workspace (so a viewer, or an API key
  with the read scope, only ever reads, whatever their collection role).
- manage (rename, describe, change visibility, delete, add and remove members, and everything
  edit allows): the creator and admins; for team collections also the workspace's editors.
  A private collection is its creator's: there, a workspace editor has only their collection role.
- edit (add, move and remove documents): members with the collection role "editor".
- read: everyone else who sees it (members with the role "viewer" included).

The documents of a collection are listed, counted and added only as far as the caller may read
them (`tynebase.documents.access`): a collection never reveals a document the caller could not
open, and a document id the caller may not read gets DOCUMENT_NOT_FOUND. Members must be members
of the workspace (404 MEMBER_NOT_FOUND otherwise).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.documents import service as documents_service
from tynebase.errors import Forbidden, NotFound, ValidationFailed
from tynebase.taxonomy import collections_repo as repo
from tynebase.taxonomy.collections_repo import (
    Collection,
    CollectionDocument,
    CollectionMember,
    CollectionRow,
)
from tynebase.users import service as users_service

Level = Literal["read", "edit", "manage"]
_RANK: dict[Level, int] = {"read": 0, "edit": 1, "manage": 2}
MAX_PAGE = 200


@dataclass(frozen=True)
class CollectionAccess:
    collection: Collection
    member_role: str | None  # the caller's collection role, if a member
    level: Level


def _visible(principal: Principal, collection: Collection, member_role: str | None) -> bool:
    return (
        principal.role == "admin"
        or collection.visibility == "team"
        or collection.created_by == principal.user_id
        or member_role is not None
    )


def access_level(principal: Principal, collection: Collection, member_role: str | None) -> Level:
    if not principal.has_role("contributor"):
        return "read"
    if principal.role == "admin" or collection.created_by == principal.user_id:
        return "manage"
    if collection.visibility == "team" and principal.has_role("editor"):
        return "manage"
    return "edit" if member_role == "editor" else "read"


async def access_collection(
    conn: AsyncConnection, *, principal: Principal, collection_id: UUID
) -> CollectionAccess:
    """The collection if the caller may see it; the same 404 whether missing or hidden."""
    collection = await repo.get(conn, collection_id)
    role = (
        await repo.member_role(conn, collection_id=collection_id, user_id=principal.user_id)
        if collection is not None
        else None
    )
    if collection is None or not _visible(principal, collection, role):
        raise NotFound("Collection not found", code="COLLECTION_NOT_FOUND")
    return CollectionAccess(
        collection=collection, member_role=role, level=access_level(principal, collection, role)
    )


async def _access_for(
    conn: AsyncConnection, *, principal: Principal, collection_id: UUID, needed: Level
) -> CollectionAccess:
    principal.check_role("contributor")
    access = await access_collection(conn, principal=principal, collection_id=collection_id)
    if _RANK[access.level] < _RANK[needed]:
        raise Forbidden(
            "You may only read this collection"
            if access.level == "read"
            else "Only the collection's managers may do this",
            code="COLLECTION_FORBIDDEN",
            details={"needed": needed, "access": access.level},
        )
    return access


async def list_collections(
    conn: AsyncConnection, *, principal: Principal
) -> list[tuple[CollectionRow, Level]]:
    """The collections the caller sees, each with the caller's access level."""
    rows = await repo.list_visible(conn, principal)
    return [(row, access_level(principal, row.collection, row.member_role)) for row in rows]


async def collection_row(
    conn: AsyncConnection, *, principal: Principal, collection_id: UUID
) -> tuple[CollectionRow, Level]:
    """One collection as the caller sees it (with their readable-document count)."""
    access = await access_collection(conn, principal=principal, collection_id=collection_id)
    row = await repo.get_row(conn, principal, access.collection.id)
    assert row is not None
    return row, access.level


async def list_members(
    conn: AsyncConnection, *, principal: Principal, collection_id: UUID
) -> list[CollectionMember]:
    access = await access_collection(conn, principal=principal, collection_id=collection_id)
    return await repo.list_members(conn, access.collection.id)


async def do_create(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    name: str,
    description: str,
    visibility: str,
) -> Collection:
    principal.check_role("contributor")
    return await repo.insert(
        conn,
        tenant_id=tenant_id,
        name=name,
        description=description,
        visibility=visibility,
        created_by=principal.user_id,
    )


async def do_update(
    conn: AsyncConnection,
    *,
    principal: Principal,
    collection_id: UUID,
    name: str | None = None,
    description: str | None = None,
    visibility: str | None = None,
) -> None:
    access = await _access_for(
        conn, principal=principal, collection_id=collection_id, needed="manage"
    )
    changes = {"name": name, "description": description, "visibility": visibility}
    await repo.update(
        conn, access.collection.id, **{k: v for k, v in changes.items() if v is not None}
    )


async def do_delete(conn: AsyncConnection, *, principal: Principal, collection_id: UUID) -> None:
    access = await _access_for(
        conn, principal=principal, collection_id=collection_id, needed="manage"
    )
    await repo.delete(conn, access.collection.id)


async def do_put_member(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    collection_id: UUID,
    user_id: UUID,
    role: str,
) -> CollectionMember:
    """Add a member of the workspace to the collection, or change their collection role."""
    access = await _access_for(
        conn, principal=principal, collection_id=collection_id, needed="manage"
    )
    await users_service.access_member(conn, user_id=user_id)
    return await repo.put_member(
        conn, tenant_id=tenant_id, collection_id=access.collection.id, user_id=user_id, role=role
    )


async def do_remove_member(
    conn: AsyncConnection, *, principal: Principal, collection_id: UUID, user_id: UUID
) -> None:
    access = await _access_for(
        conn, principal=principal, collection_id=collection_id, needed="manage"
    )
    if not await repo.delete_member(conn, collection_id=access.collection.id, user_id=user_id):
        raise NotFound(
            "This person is not a member of the collection", code="COLLECTION_MEMBER_NOT_FOUND"
        )


async def do_put_document(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    collection_id: UUID,
    document_id: UUID,
    position: int | None,
) -> CollectionDocument:
    """Add a document the caller may read, or move it to `position`."""
    access = await _access_for(
        conn, principal=principal, collection_id=collection_id, needed="edit"
    )
    document = await documents_service.access_document(
        conn, principal=principal, document_id=document_id
    )
    return await repo.put_document(
        conn,
        tenant_id=tenant_id,
        collection_id=access.collection.id,
        document_id=document.id,
        position=position,
    )


async def do_remove_document(
    conn: AsyncConnection, *, principal: Principal, collection_id: UUID, document_id: UUID
) -> None:
    access = await _access_for(
        conn, principal=principal, collection_id=collection_id, needed="edit"
    )
    document = await documents_service.access_document(
        conn, principal=principal, document_id=document_id
    )
    removed = await repo.delete_document(
        conn, collection_id=access.collection.id, document_id=document.id
    )
    if not removed:
        raise NotFound(
            "This document is not in the collection", code="COLLECTION_DOCUMENT_NOT_FOUND"
        )


def encode_cursor(document: CollectionDocument) -> str:
    raw = f"{document.position}:{document.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        position, document_id = raw.split(":", 1)
        after = int(position), UUID(document_id)
        if not 0 <= after[0] < 2**31:
            raise ValueError(position)
        return after
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed(
            "This cursor is not valid; start again without one",
            code="INVALID_CURSOR",
            details={"field": "cursor"},
        ) from exc


async def list_documents(
    conn: AsyncConnection,
    *,
    principal: Principal,
    collection_id: UUID,
    cursor: str | None,
    limit: int,
) -> tuple[list[CollectionDocument], str | None]:
    """A page of the collection's readable documents in order, and the next page's cursor."""
    access = await access_collection(conn, principal=principal, collection_id=collection_id)
    after = decode_cursor(cursor) if cursor else None
    limit = max(1, min(limit, MAX_PAGE))
    page = await repo.list_documents(
        conn, principal, collection_id=access.collection.id, after=after, limit=limit + 1
    )
    more = len(page) > limit
    page = page[:limit]
    return page, encode_cursor(page[-1]) if more and page else None
