"""Document, tag-assignment and list queries (tenant rows only, by RLS); never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.db.metadata import AnyRow
from tynebase.documents import access
from tynebase.documents.models import document_versions, documents
from tynebase.taxonomy.models import categories, document_tags, tags


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

    @property
    def editing_body(self) -> str:
        """The text collaborators edit: a published document's pending draft, else its body."""
        return self.draft_body if self.draft_body is not None else self.body

    @property
    def editing_title(self) -> str:
        return self.draft_title if self.draft_title is not None else self.title

    @property
    def rights(self) -> dict[str, Any]:
        """The fields the `access.can_*` rules take."""
        return {"author_id": self.author_id, "status": self.status, "visibility": self.visibility}


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


async def update(
    conn: AsyncConnection, document_id: UUID, *, touch: bool = True, **values: Any
) -> Document:
    """Change a document; `touch=False` keeps `updated_at` (a pending draft is not news to
    readers, and the list order is what they see)."""
    if touch:
        values["updated_at"] = sa.func.now()
    query = (
        documents.update()
        .where(documents.c.id == document_id)
        .values(**values)
        .returning(*DOCUMENT_COLUMNS)
    )
    return to_document((await conn.execute(query)).one())


async def delete(conn: AsyncConnection, document_id: UUID) -> None:
    await conn.execute(documents.delete().where(documents.c.id == document_id))


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


async def category_exists(conn: AsyncConnection, category_id: UUID) -> bool:
    query = sa.select(sa.literal(1)).where(categories.c.id == category_id)
    return (await conn.execute(query)).first() is not None


# --- lists ---------------------------------------------------------------------------------------

# Lists never carry bodies (up to 10 MB each).
SUMMARY_COLUMNS = tuple(
    documents.c[name]
    for name in (
        "id",
        "title",
        "status",
        "visibility",
        "category_id",
        "author_id",
        "current_version",
        "published_at",
        "created_at",
        "updated_at",
    )
)


@dataclass(frozen=True)
class ListFilters:
    category_id: UUID | None = None
    uncategorised: bool = False
    tag: str | None = None
    status: str | None = None
    author_id: UUID | None = None
    visibility: str | None = None
    q: str | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_query(
    *,
    principal: Principal,
    tenant_id: UUID,
    filters: ListFilters,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> sa.Select[Any]:
    """Readable documents, newest change first, one page after the keyset `after`.

    Ordered by (updated_at DESC, id ASC) to match ix_documents_tenant_id_updated_at exactly, so
    a page is an index range scan with no sort, however deep. The explicit tenant filter (RLS
    adds the same) lets the planner use the index's leading column.
    """
    d = documents
    conditions: list[sa.ColumnElement[bool]] = [
        d.c.tenant_id == tenant_id,
        access.readable_clause(principal),
    ]
    if filters.category_id is not None:
        conditions.append(d.c.category_id == filters.category_id)
    if filters.uncategorised:
        conditions.append(d.c.category_id.is_(None))
    if filters.status is not None:
        conditions.append(d.c.status == filters.status)
    if filters.author_id is not None:
        conditions.append(d.c.author_id == filters.author_id)
    if filters.visibility is not None:
        conditions.append(d.c.visibility == filters.visibility)
    if filters.q:
        conditions.append(d.c.title.ilike(f"%{_escape_like(filters.q)}%", escape="\\"))
    if filters.tag is not None:
        conditions.append(
            sa.exists()
            .where(document_tags.c.document_id == d.c.id)
            .where(document_tags.c.tag_id == tags.c.id)
            .where(tags.c.name == filters.tag)
        )
    if after is not None:
        at, last_id = after
        # `updated_at <= at` bounds the index range; the OR settles ties on the same instant.
        conditions.append(d.c.updated_at <= at)
        conditions.append(sa.or_(d.c.updated_at < at, d.c.id > last_id))
    return (
        sa.select(*SUMMARY_COLUMNS)
        .where(*conditions)
        .order_by(d.c.updated_at.desc(), d.c.id.asc())
        .limit(limit)
    )


async def list_page(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    filters: ListFilters,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[AnyRow]:
    query = list_query(
        principal=principal, tenant_id=tenant_id, filters=filters, after=after, limit=limit
    )
    return list((await conn.execute(query)).all())


# --- tags ----------------------------------------------------------------------------------------


async def tag_names(conn: AsyncConnection, document_ids: Sequence[UUID]) -> dict[UUID, list[str]]:
    """The tag names of each document, sorted; one query for a whole page."""
    names: dict[UUID, list[str]] = {document_id: [] for document_id in document_ids}
    if not document_ids:
        return names
    query = (
        sa.select(document_tags.c.document_id, tags.c.name)
        .join(tags, tags.c.id == document_tags.c.tag_id)
        .where(document_tags.c.document_id.in_(document_ids))
        .order_by(tags.c.name)
    )
    for row in (await conn.execute(query)).all():
        names[row.document_id].append(row.name)
    return names


async def set_tags(
    conn: AsyncConnection, *, tenant_id: UUID, document_id: UUID, names: Sequence[str]
) -> None:
    """Make `names` the document's tags, creating the tenant's missing tags (by exact name)."""
    wanted = list(dict.fromkeys(names))
    tag_ids: list[UUID] = []
    if wanted:
        await conn.execute(
            pg_insert(tags)
            .values([{"tenant_id": tenant_id, "name": name} for name in wanted])
            .on_conflict_do_nothing(index_elements=["tenant_id", "name"])
        )
        query = sa.select(tags.c.id).where(tags.c.name.in_(wanted))
        tag_ids = list((await conn.execute(query)).scalars())
    stale = document_tags.delete().where(document_tags.c.document_id == document_id)
    if tag_ids:
        stale = stale.where(document_tags.c.tag_id.not_in(tag_ids))
    await conn.execute(stale)
    if tag_ids:
        await conn.execute(
            pg_insert(document_tags)
            .values(
                [
                    {"tenant_id": tenant_id, "document_id": document_id, "tag_id": tag_id}
                    for tag_id in tag_ids
                ]
            )
            .on_conflict_do_nothing()
        )
