"""Category, tag and template queries (tenant rows only, by RLS); never commits."""

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
from tynebase.taxonomy.models import categories, document_tags, global_templates, tags, templates


def _fields(cls: Any, row: AnyRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in cls.__dataclass_fields__}


# --- categories ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    id: UUID
    parent_id: UUID | None
    name: str
    position: int
    created_at: datetime


_CATEGORY_COLUMNS = tuple(categories.c[name] for name in Category.__dataclass_fields__)


def _category(row: AnyRow) -> Category:
    return Category(**_fields(Category, row))


async def lock_category_tree(conn: AsyncConnection, tenant_id: UUID) -> None:
    """Serialise changes to the shape of one tenant's tree until the transaction ends: two
    concurrent moves that are each fine alone could otherwise close a cycle together."""
    key = sa.func.hashtextextended(f"tynebase.categories:{tenant_id}", 0)
    await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


async def get_category(conn: AsyncConnection, category_id: UUID) -> Category | None:
    query = sa.select(*_CATEGORY_COLUMNS).where(categories.c.id == category_id)
    row = (await conn.execute(query)).first()
    return _category(row) if row else None


async def list_categories(conn: AsyncConnection) -> list[Category]:
    query = sa.select(*_CATEGORY_COLUMNS).order_by(
        categories.c.position, sa.func.lower(categories.c.name), categories.c.id
    )
    return [_category(row) for row in (await conn.execute(query)).all()]


async def readable_counts_by_category(
    conn: AsyncConnection, principal: Principal, tenant_id: UUID
) -> dict[UUID | None, int]:
    """Documents the caller may read per category id (None: uncategorised)."""
    # RLS alone limits the rows too, but its setting is then read again for every row of the
    # scan; with the tenant as a constant PostgreSQL checks the policy once (half the time of a
    # 10k-document scan, docs/PERFORMANCE.md).
    query = (
        sa.select(documents.c.category_id, sa.func.count())
        .where(documents.c.tenant_id == tenant_id, readable_clause(principal))
        .group_by(documents.c.category_id)
    )
    return {row[0]: int(row[1]) for row in (await conn.execute(query)).all()}


def _sibling_of(parent_id: UUID | None) -> sa.ColumnElement[bool]:
    if parent_id is None:
        return categories.c.parent_id.is_(None)
    return categories.c.parent_id == parent_id


async def sibling_named(
    conn: AsyncConnection, *, parent_id: UUID | None, name: str, exclude_id: UUID | None = None
) -> bool:
    """Whether a sibling under `parent_id` already has `name` (ignoring case)."""
    query = sa.select(categories.c.id).where(
        _sibling_of(parent_id), sa.func.lower(categories.c.name) == name.lower()
    )
    if exclude_id is not None:
        query = query.where(categories.c.id != exclude_id)
    return (await conn.execute(query.limit(1))).first() is not None


async def insert_category(conn: AsyncConnection, **values: Any) -> Category:
    query = categories.insert().values(**values).returning(*_CATEGORY_COLUMNS)
    return _category((await conn.execute(query)).one())


async def update_category(conn: AsyncConnection, category_id: UUID, **values: Any) -> Category:
    query = (
        categories.update()
        .where(categories.c.id == category_id)
        .values(**values)
        .returning(*_CATEGORY_COLUMNS)
    )
    return _category((await conn.execute(query)).one())


async def is_within(conn: AsyncConnection, *, category_id: UUID, ancestor_id: UUID) -> bool:
    """Whether `category_id` is `ancestor_id` or one of its descendants (walks up the tree)."""
    up = (
        sa.select(categories.c.id, categories.c.parent_id)
        .where(categories.c.id == category_id)
        .cte("up", recursive=True)
    )
    # UNION, not UNION ALL: the walk ends even on a tree that somehow holds a cycle.
    up = up.union(
        sa.select(categories.c.id, categories.c.parent_id).where(categories.c.id == up.c.parent_id)
    )
    query = sa.select(sa.exists().where(up.c.id == ancestor_id))
    return bool((await conn.execute(query)).scalar_one())


async def clashing_child_names(
    conn: AsyncConnection, *, category_id: UUID, new_parent_id: UUID | None
) -> list[str]:
    """Names of `category_id`'s children that a sibling under `new_parent_id` already has."""
    siblings = categories.alias("siblings")
    sibling_parent = (
        siblings.c.parent_id.is_(None)
        if new_parent_id is None
        else siblings.c.parent_id == new_parent_id
    )
    query = (
        sa.select(categories.c.name)
        .join(siblings, sa.func.lower(siblings.c.name) == sa.func.lower(categories.c.name))
        .where(categories.c.parent_id == category_id, sibling_parent, siblings.c.id != category_id)
        .order_by(categories.c.name)
    )
    return list((await conn.execute(query)).scalars())


async def move_children(
    conn: AsyncConnection, *, category_id: UUID, new_parent_id: UUID | None
) -> None:
    await conn.execute(
        categories.update()
        .where(categories.c.parent_id == category_id)
        .values(parent_id=new_parent_id)
    )


async def uncategorise_documents(conn: AsyncConnection, category_id: UUID) -> list[UUID]:
    """Move the category's documents to Uncategorised; their ids. `updated_at` stays: the
    content did not change (lineage records the move)."""
    query = (
        documents.update()
        .where(documents.c.category_id == category_id)
        .values(category_id=None)
        .returning(documents.c.id)
    )
    return sorted((await conn.execute(query)).scalars())


async def delete_category(conn: AsyncConnection, category_id: UUID) -> None:
    await conn.execute(categories.delete().where(categories.c.id == category_id))


# --- tags ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tag:
    id: UUID
    name: str
    created_at: datetime


@dataclass(frozen=True)
class TagCount:
    tag: Tag
    readable: int  # documents with the tag that the caller may read
    total: int  # all documents with the tag


_TAG_COLUMNS = tuple(tags.c[name] for name in Tag.__dataclass_fields__)


def _tag(row: AnyRow) -> Tag:
    return Tag(**_fields(Tag, row))


def _tag_counts(principal: Principal) -> sa.Select[Any]:
    # The documents table itself (not an alias): `readable_clause` names its columns.
    return (
        sa.select(
            *_TAG_COLUMNS,
            sa.func.count(documents.c.id).filter(readable_clause(principal)).label("readable"),
            sa.func.count(document_tags.c.document_id).label("total"),
        )
        .select_from(
            tags.outerjoin(document_tags, document_tags.c.tag_id == tags.c.id).outerjoin(
                documents, documents.c.id == document_tags.c.document_id
            )
        )
        .group_by(tags.c.id)
    )


def _tag_count(row: AnyRow) -> TagCount:
    return TagCount(tag=_tag(row), readable=int(row.readable), total=int(row.total))


async def list_tag_counts(conn: AsyncConnection, principal: Principal) -> list[TagCount]:
    query = _tag_counts(principal).order_by(sa.func.lower(tags.c.name), tags.c.id)
    return [_tag_count(row) for row in (await conn.execute(query)).all()]


async def get_tag_count(
    conn: AsyncConnection, principal: Principal, tag_id: UUID
) -> TagCount | None:
    row = (await conn.execute(_tag_counts(principal).where(tags.c.id == tag_id))).first()
    return _tag_count(row) if row else None


async def get_tag_by_name(conn: AsyncConnection, name: str) -> Tag | None:
    row = (await conn.execute(sa.select(*_TAG_COLUMNS).where(tags.c.name == name))).first()
    return _tag(row) if row else None


async def insert_tag(conn: AsyncConnection, *, tenant_id: UUID, name: str) -> Tag:
    query = tags.insert().values(tenant_id=tenant_id, name=name).returning(*_TAG_COLUMNS)
    return _tag((await conn.execute(query)).one())


async def rename_tag(conn: AsyncConnection, tag_id: UUID, name: str) -> Tag:
    query = tags.update().where(tags.c.id == tag_id).values(name=name).returning(*_TAG_COLUMNS)
    return _tag((await conn.execute(query)).one())


async def merge_tag(conn: AsyncConnection, *, source_id: UUID, target_id: UUID) -> None:
    """Give every document of `source_id` the tag `target_id`, then drop `source_id`."""
    moved = sa.select(
        document_tags.c.tenant_id, document_tags.c.document_id, sa.literal(target_id)
    ).where(document_tags.c.tag_id == source_id)
    insert = pg_insert(document_tags).from_select(["tenant_id", "document_id", "tag_id"], moved)
    await conn.execute(insert.on_conflict_do_nothing())
    await delete_tag(conn, source_id)


async def delete_tag(conn: AsyncConnection, tag_id: UUID) -> None:
    # document_tags rows go with it (ON DELETE CASCADE).
    await conn.execute(tags.delete().where(tags.c.id == tag_id))


# --- templates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    id: UUID
    scope: str  # "global" or "tenant"
    name: str
    description: str
    title: str
    body: str
    created_by: UUID | None
    created_at: datetime

    @property
    def is_global(self) -> bool:
        return self.scope == "global"


_TEMPLATE_FIELDS = ("id", "name", "description", "title", "body", "created_at")


def _global_query() -> sa.Select[Any]:
    return sa.select(
        *(global_templates.c[name] for name in _TEMPLATE_FIELDS),
        sa.literal("global").label("scope"),
        sa.null().label("created_by"),
    )


def _tenant_query() -> sa.Select[Any]:
    return sa.select(
        *(templates.c[name] for name in _TEMPLATE_FIELDS),
        sa.literal("tenant").label("scope"),
        templates.c.created_by,
    )


def _template(row: AnyRow) -> Template:
    return Template(**_fields(Template, row))


async def list_templates(conn: AsyncConnection) -> list[Template]:
    """Global templates first, then the tenant's, each by name."""
    both = sa.union_all(_global_query(), _tenant_query()).subquery()
    query = sa.select(both).order_by(
        sa.case((both.c.scope == "global", 0), else_=1), sa.func.lower(both.c.name), both.c.id
    )
    return [_template(row) for row in (await conn.execute(query)).all()]


async def get_template(conn: AsyncConnection, template_id: UUID) -> Template | None:
    for query in (
        _global_query().where(global_templates.c.id == template_id),
        _tenant_query().where(templates.c.id == template_id),
    ):
        row = (await conn.execute(query)).first()
        if row:
            return _template(row)
    return None


async def tenant_template_named(
    conn: AsyncConnection, name: str, *, exclude_id: UUID | None = None
) -> bool:
    query = sa.select(templates.c.id).where(sa.func.lower(templates.c.name) == name.lower())
    if exclude_id is not None:
        query = query.where(templates.c.id != exclude_id)
    return (await conn.execute(query.limit(1))).first() is not None


async def insert_template(conn: AsyncConnection, **values: Any) -> Template:
    query = templates.insert().values(**values).returning(templates.c.id)
    template_id: UUID = (await conn.execute(query)).scalar_one()
    template = await get_template(conn, template_id)
    assert template is not None
    return template


async def update_template(conn: AsyncConnection, template_id: UUID, **values: Any) -> Template:
    if values:
        await conn.execute(templates.update().where(templates.c.id == template_id).values(**values))
    template = await get_template(conn, template_id)
    assert template is not None
    return template


async def delete_template(conn: AsyncConnection, template_id: UUID) -> None:
    await conn.execute(templates.delete().where(templates.c.id == template_id))
