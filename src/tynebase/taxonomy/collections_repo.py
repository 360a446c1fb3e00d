"""Collection, collection member and collection document queries (tenant rows only, by RLS);
never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.db.metadata import AnyRow
from tynebase.documents.access import readable_clause
from tynebase.documents.models import documents
from tynebase.taxonomy.models import collection_documents, collection_members, collections
from tynebase.users.models import memberships, users


@dataclass(frozen=True)
class Collection:
    id: UUID
    name: str
    description: str
    visibility: str
    created_by: UUID | None
    created_at: datetime


@dataclass(frozen=True)
class CollectionRow:
    """A collection as one caller sees it in a list."""

    collection: Collection
    member_role: str | None  # the caller's role in it, if a member
    document_count: int  # documents in it the caller may read


@dataclass(frozen=True)
class CollectionMember:
    user_id: UUID
    name: str
    email: str
    role: str
    added_at: datetime


_COLUMNS = tuple(collections.c[name] for name in Collection.__dataclass_fields__)


def _collection(row: AnyRow) -> Collection:
    return Collection(**{name: getattr(row, name) for name in Collection.__dataclass_fields__})


async def get(conn: AsyncConnection, collection_id: UUID) -> Collection | None:
    row = (
        await conn.execute(sa.select(*_COLUMNS).where(collections.c.id == collection_id))
    ).first()
    return _collection(row) if row else None


async def member_role(conn: AsyncConnection, *, collection_id: UUID, user_id: UUID) -> str | None:
    query = sa.select(collection_members.c.role).where(
        collection_members.c.collection_id == collection_id,
        collection_members.c.user_id == user_id,
    )
    role: str | None = (await conn.execute(query)).scalar()
    return role


def _readable_count(principal: Principal) -> sa.ScalarSelect[Any]:
    return (
        sa.select(sa.func.count())
        .select_from(
            collection_documents.join(
                documents, documents.c.id == collection_documents.c.document_id
            )
        )
        .where(collection_documents.c.collection_id == collections.c.id, readable_clause(principal))
        .correlate(collections)
        .scalar_subquery()
    )


def _listing(principal: Principal) -> sa.Select[Any]:
    mine = sa.and_(
        collection_members.c.collection_id == collections.c.id,
        collection_members.c.user_id == principal.user_id,
    )
    return sa.select(
        *_COLUMNS,
        collection_members.c.role.label("member_role"),
        _readable_count(principal).label("document_count"),
    ).select_from(collections.outerjoin(collection_members, mine))


def _row(row: AnyRow) -> CollectionRow:
    return CollectionRow(
        collection=_collection(row),
        member_role=row.member_role,
        document_count=int(row.document_count),
    )


async def list_visible(conn: AsyncConnection, principal: Principal) -> list[CollectionRow]:
    """Team collections, and private ones the caller created or is a member of (admins: all)."""
    query = _listing(principal)
    if principal.role != "admin":
        query = query.where(
            sa.or_(
                collections.c.visibility == "team",
                collections.c.created_by == principal.user_id,
                collection_members.c.user_id.is_not(None),
            )
        )
    query = query.order_by(sa.func.lower(collections.c.name), collections.c.id)
    return [_row(row) for row in (await conn.execute(query)).all()]


async def get_row(
    conn: AsyncConnection, principal: Principal, collection_id: UUID
) -> CollectionRow | None:
    query = _listing(principal).where(collections.c.id == collection_id)
    row = (await conn.execute(query)).first()
    return _row(row) if row else None


async def insert(conn: AsyncConnection, **values: Any) -> Collection:
    row = (await conn.execute(collections.insert().values(**values).returning(*_COLUMNS))).one()
    return _collection(row)


async def update(conn: AsyncConnection, collection_id: UUID, **values: Any) -> None:
    if values:
        await conn.execute(
            collections.update().where(collections.c.id == collection_id).values(**values)
        )


async def delete(conn: AsyncConnection, collection_id: UUID) -> None:
    # Its members and document entries go with it (ON DELETE CASCADE).
    await conn.execute(collections.delete().where(collections.c.id == collection_id))


# --- members ------------------------------------------------------------------------------------

_MEMBER_COLUMNS = (
    collection_members.c.user_id,
    users.c.name,
    users.c.email,
    collection_members.c.role,
    collection_members.c.created_at.label("added_at"),
)


def _member(row: AnyRow) -> CollectionMember:
    return CollectionMember(
        user_id=row.user_id, name=row.name, email=row.email, role=row.role, added_at=row.added_at
    )


def _members_query() -> sa.Select[Any]:
    # Joined with memberships: someone who left the workspace no longer shows (nor counts).
    return sa.select(*_MEMBER_COLUMNS).select_from(
        collection_members.join(users, users.c.id == collection_members.c.user_id).join(
            memberships,
            sa.and_(
                memberships.c.user_id == collection_members.c.user_id,
                memberships.c.tenant_id == collection_members.c.tenant_id,
            ),
        )
    )


async def list_members(conn: AsyncConnection, collection_id: UUID) -> list[CollectionMember]:
    query = (
        _members_query()
        .where(collection_members.c.collection_id == collection_id)
        .order_by(collection_members.c.created_at, collection_members.c.user_id)
    )
    return [_member(row) for row in (await conn.execute(query)).all()]


async def put_member(
    conn: AsyncConnection, *, tenant_id: UUID, collection_id: UUID, user_id: UUID, role: str
) -> CollectionMember:
    insert = pg_insert(collection_members).values(
        tenant_id=tenant_id, collection_id=collection_id, user_id=user_id, role=role
    )
    await conn.execute(
        insert.on_conflict_do_update(
            index_elements=[collection_members.c.collection_id, collection_members.c.user_id],
            set_={"role": insert.excluded.role},
        )
    )
    query = _members_query().where(
        collection_members.c.collection_id == collection_id,
        collection_members.c.user_id == user_id,
    )
    return _member((await conn.execute(query)).one())


async def delete_member(conn: AsyncConnection, *, collection_id: UUID, user_id: UUID) -> bool:
    result = await conn.execute(
        collection_members.delete().where(
            collection_members.c.collection_id == collection_id,
            collection_members.c.user_id == user_id,
        )
    )
    return result.rowcount > 0


# --- documents ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CollectionDocument:
    id: UUID
    title: str
    status: str
    visibility: str
    category_id: UUID | None
    updated_at: datetime
    position: int
    added_at: datetime


_with_documents = collection_documents.join(
    documents, documents.c.id == collection_documents.c.document_id
)
_DOCUMENT_COLUMNS = (
    documents.c.id,
    documents.c.title,
    documents.c.status,
    documents.c.visibility,
    documents.c.category_id,
    documents.c.updated_at,
    collection_documents.c.position,
    collection_documents.c.created_at.label("added_at"),
)


def _document(row: AnyRow) -> CollectionDocument:
    return CollectionDocument(
        **{name: getattr(row, name) for name in CollectionDocument.__dataclass_fields__}
    )


async def put_document(
    conn: AsyncConnection,
    *,
    tenant_id: UUID,
    collection_id: UUID,
    document_id: UUID,
    position: int | None,
) -> CollectionDocument:
    """Add (last, unless `position` says) or move a document; one already there keeps its
    place when `position` is None."""
    last = (
        sa.select(sa.func.coalesce(sa.func.max(collection_documents.c.position) + 1, 0))
        .where(collection_documents.c.collection_id == collection_id)
        .scalar_subquery()
    )
    insert = pg_insert(collection_documents).values(
        tenant_id=tenant_id,
        collection_id=collection_id,
        document_id=document_id,
        position=last if position is None else position,
    )
    keep_or_move = collection_documents.c.position if position is None else position
    await conn.execute(
        insert.on_conflict_do_update(
            index_elements=[
                collection_documents.c.collection_id,
                collection_documents.c.document_id,
            ],
            set_={"position": keep_or_move},
        )
    )
    query = (
        sa.select(*_DOCUMENT_COLUMNS)
        .select_from(_with_documents)
        .where(
            collection_documents.c.collection_id == collection_id,
            collection_documents.c.document_id == document_id,
        )
    )
    return _document((await conn.execute(query)).one())


async def delete_document(conn: AsyncConnection, *, collection_id: UUID, document_id: UUID) -> bool:
    result = await conn.execute(
        collection_documents.delete().where(
            collection_documents.c.collection_id == collection_id,
            collection_documents.c.document_id == document_id,
        )
    )
    return result.rowcount > 0


async def list_documents(
    conn: AsyncConnection,
    principal: Principal,
    *,
    collection_id: UUID,
    after: tuple[int, UUID] | None,
    limit: int,
) -> list[CollectionDocument]:
    """The documents of a collection that the caller may read, by (position, id), after the
    cursor `after`."""
    query = (
        sa.select(*_DOCUMENT_COLUMNS)
        .select_from(_with_documents)
        .where(collection_documents.c.collection_id == collection_id, readable_clause(principal))
    )
    if after is not None:
        query = query.where(
            sa.tuple_(collection_documents.c.position, documents.c.id) > sa.tuple_(*after)
        )
    query = query.order_by(collection_documents.c.position, documents.c.id).limit(limit)
    return [_document(row) for row in (await conn.execute(query)).all()]
