from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from tynebase.db.metadata import (
    created_at,
    metadata,
    one_of,
    same_tenant_fk,
    tenant_fk,
    uuid_pk,
)

COLLECTION_VISIBILITIES = ("team", "private")
COLLECTION_ROLES = ("viewer", "editor")


def _id(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UUID(as_uuid=True), nullable=nullable)


def _user(name: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> sa.Column[object]:
    return sa.Column(
        name, UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete=ondelete), nullable=nullable
    )


# Documents without a category are "Uncategorised" (category_id NULL): deleting a category
# moves its documents there and its children to its parent.
categories = sa.Table(
    "categories",
    metadata,
    uuid_pk(),
    tenant_fk(),
    _id("parent_id", nullable=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    created_at(),
    same_tenant_fk("parent_id", "categories", ondelete="RESTRICT"),
    sa.UniqueConstraint("tenant_id", "id"),
    sa.UniqueConstraint("tenant_id", "parent_id", "name", postgresql_nulls_not_distinct=True),
    sa.CheckConstraint("char_length(name) BETWEEN 1 AND 200", name="name_length"),
)

tags = sa.Table(
    "tags",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column("name", sa.Text, nullable=False),
    created_at(),
    sa.UniqueConstraint("tenant_id", "id"),
    sa.UniqueConstraint("tenant_id", "name"),
    sa.CheckConstraint("char_length(name) BETWEEN 1 AND 64", name="name_length"),
)

document_tags = sa.Table(
    "document_tags",
    metadata,
    tenant_fk(),
    _id("document_id"),
    _id("tag_id"),
    same_tenant_fk("document_id", "documents"),
    same_tenant_fk("tag_id", "tags"),
    sa.PrimaryKeyConstraint("document_id", "tag_id"),
    sa.Index("ix_document_tags_tag_id", "tag_id"),
)

collections = sa.Table(
    "collections",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("visibility", sa.Text, nullable=False, server_default="team"),
    _user("created_by", nullable=True, ondelete="SET NULL"),
    created_at(),
    sa.UniqueConstraint("tenant_id", "id"),
    one_of("visibility", COLLECTION_VISIBILITIES),
)

collection_documents = sa.Table(
    "collection_documents",
    metadata,
    tenant_fk(),
    _id("collection_id"),
    _id("document_id"),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
    created_at(),
    same_tenant_fk("collection_id", "collections"),
    same_tenant_fk("document_id", "documents"),
    sa.PrimaryKeyConstraint("collection_id", "document_id"),
)

collection_members = sa.Table(
    "collection_members",
    metadata,
    tenant_fk(),
    _id("collection_id"),
    _user("user_id"),
    sa.Column("role", sa.Text, nullable=False),
    created_at(),
    same_tenant_fk("collection_id", "collections"),
    sa.PrimaryKeyConstraint("collection_id", "user_id"),
    one_of("role", COLLECTION_ROLES),
)

templates = sa.Table(
    "templates",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    _user("created_by", nullable=True, ondelete="SET NULL"),
    created_at(),
    sa.UniqueConstraint("tenant_id", "name"),
)

# Shipped with TyneBase for every workspace; platform-owned, read-only for tenants.
global_templates = sa.Table(
    "global_templates",
    metadata,
    uuid_pk(),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    created_at(),
)
