"""File queries (tenant rows only, by RLS); never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.db.metadata import AnyRow
from tynebase.documents import access as document_access
from tynebase.documents.models import documents
from tynebase.files.models import files

# Two-key advisory lock namespace for "a tenant's storage usage" (the second key is the tenant).
_USAGE_LOCK_NAMESPACE = "tynebase.files.usage"


@dataclass(frozen=True)
class StoredFile:
    id: UUID
    tenant_id: UUID
    storage_key: str
    filename: str
    content_type: str
    kind: str
    size_bytes: int
    sha256: str
    created_by: UUID | None
    document_id: UUID | None
    created_at: datetime
    # Of the attached document, for the read rule (None when the file is not attached).
    document_author_id: UUID | None = None
    document_status: str | None = None
    document_visibility: str | None = None


_FILE_COLUMNS = tuple(files.c[name] for name in list(StoredFile.__dataclass_fields__)[:11])
_JOINED = files.outerjoin(
    documents,
    sa.and_(documents.c.tenant_id == files.c.tenant_id, documents.c.id == files.c.document_id),
)
_SELECT = sa.select(
    *_FILE_COLUMNS,
    documents.c.author_id.label("document_author_id"),
    documents.c.status.label("document_status"),
    documents.c.visibility.label("document_visibility"),
).select_from(_JOINED)


def _file(row: AnyRow) -> StoredFile:
    values = row._mapping
    return StoredFile(
        **{name: values[name] for name in StoredFile.__dataclass_fields__ if name in values}
    )


def readable_clause(principal: Principal) -> sa.ColumnElement[bool]:
    """SQL form of `service.can_read`: the uploader; editors for unattached files; whoever may
    read the attached document."""
    unattached = files.c.document_id.is_(None)
    return sa.or_(
        files.c.created_by == principal.user_id,
        sa.and_(unattached, sa.true() if principal.has_role("editor") else sa.false()),
        sa.and_(~unattached, document_access.readable_clause(principal)),
    )


async def get(conn: AsyncConnection, file_id: UUID) -> StoredFile | None:
    row = (await conn.execute(_SELECT.where(files.c.id == file_id))).first()
    return _file(row) if row else None


async def list_readable(
    conn: AsyncConnection,
    *,
    principal: Principal,
    limit: int,
    document_id: UUID | None = None,
    after: tuple[datetime, UUID] | None = None,
) -> list[StoredFile]:
    """Newest first; `after` is the (created_at, id) of the last file of the previous page."""
    query = _SELECT.where(readable_clause(principal))
    if document_id is not None:
        query = query.where(files.c.document_id == document_id)
    if after is not None:
        query = query.where(sa.tuple_(files.c.created_at, files.c.id) < sa.tuple_(*after))
    query = query.order_by(files.c.created_at.desc(), files.c.id.desc()).limit(limit)
    return [_file(row) for row in (await conn.execute(query)).all()]


async def lock_usage(conn: AsyncConnection, tenant_id: UUID) -> None:
    """Serialise quota checks of one tenant until the transaction ends (other tenants never
    wait unless their ids hash alike, which only costs a short wait)."""
    await conn.execute(
        sa.select(
            sa.func.pg_advisory_xact_lock(
                sa.func.hashtext(_USAGE_LOCK_NAMESPACE), sa.func.hashtext(str(tenant_id))
            )
        )
    )


async def used_bytes(conn: AsyncConnection) -> int:
    total = await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(files.c.size_bytes), 0)))
    return int(total.scalar_one())


async def insert(conn: AsyncConnection, **values: Any) -> StoredFile:
    row = (await conn.execute(files.insert().values(**values).returning(*_FILE_COLUMNS))).one()
    return _file(row)


async def set_document(conn: AsyncConnection, file_id: UUID, document_id: UUID | None) -> None:
    await conn.execute(files.update().where(files.c.id == file_id).values(document_id=document_id))


async def delete(conn: AsyncConnection, file_id: UUID) -> None:
    await conn.execute(files.delete().where(files.c.id == file_id))


async def storage_keys(conn: AsyncConnection) -> set[str]:
    """The blob keys of every file of the transaction's tenant."""
    return set((await conn.execute(sa.select(files.c.storage_key))).scalars())
