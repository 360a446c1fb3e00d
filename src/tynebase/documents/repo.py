"""Document and version queries (tenant rows only, by RLS); never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.db.metadata import AnyRow
from tynebase.documents.models import document_versions, documents


@dataclass(frozen=True)
class Document:
    id: UUID
    tenant_id: UUID
    title: str
    body: str
    status: str
    visibility: str
    category_id: UUID | None
    author_id: UUID | None
    draft_title: str | None
    draft_body: str | None
    draft_updated_at: datetime | None
    current_version: int
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def has_pending_draft(self) -> bool:
        return self.draft_title is not None or self.draft_body is not None


DOCUMENT_COLUMNS = tuple(documents.c[name] for name in Document.__dataclass_fields__)


def to_document(row: AnyRow) -> Document:
    return Document(**{name: getattr(row, name) for name in Document.__dataclass_fields__})


async def get(
    conn: AsyncConnection, document_id: UUID, *, for_update: bool = False
) -> Document | None:
    query = sa.select(*DOCUMENT_COLUMNS).where(documents.c.id == document_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    return to_document(row) if row else None


async def insert(conn: AsyncConnection, **values: Any) -> Document:
    row = (
        await conn.execute(documents.insert().values(**values).returning(*DOCUMENT_COLUMNS))
    ).one()
    return to_document(row)


async def update(conn: AsyncConnection, document_id: UUID, **values: Any) -> Document:
    query = (
        documents.update()
        .where(documents.c.id == document_id)
        .values(updated_at=sa.func.now(), **values)
        .returning(*DOCUMENT_COLUMNS)
    )
    return to_document((await conn.execute(query)).one())


async def insert_version(
    conn: AsyncConnection,
    *,
    tenant_id: UUID,
    document_id: UUID,
    number: int,
    title: str,
    body: str,
    reason: str,
    created_by: UUID | None,
) -> None:
    await conn.execute(
        document_versions.insert().values(
            tenant_id=tenant_id,
            document_id=document_id,
            number=number,
            title=title,
            body=body,
            reason=reason,
            created_by=created_by,
        )
    )
