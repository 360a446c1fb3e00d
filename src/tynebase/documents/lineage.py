"""The lineage record (DOC-7): one append-only row per lifecycle event of a document."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.db.metadata import AnyRow
from tynebase.documents.models import document_lineage


async def record(
    conn: AsyncConnection,
    *,
    tenant_id: UUID,
    document_id: UUID,
    event: str,
    actor_id: UUID | None,
    version: int | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        document_lineage.insert().values(
            tenant_id=tenant_id,
            document_id=document_id,
            event=event,
            actor_id=actor_id,
            version=version,
            details=details or {},
        )
    )


async def list_for(conn: AsyncConnection, document_id: UUID) -> list[AnyRow]:
    query = (
        sa.select(document_lineage)
        .where(document_lineage.c.document_id == document_id)
        .order_by(document_lineage.c.id)
    )
    return list((await conn.execute(query)).all())
