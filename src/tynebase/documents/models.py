from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID

from tynebase.db.metadata import (
    created_at,
    metadata,
    one_of,
    same_tenant_fk,
    tenant_fk,
    uuid_pk,
)

DOCUMENT_STATUSES = ("draft", "in_review", "published")
VISIBILITIES = ("private", "team", "public")
VERSION_REASONS = ("create", "publish", "collab_save", "restore", "import", "ai_generated")
LINEAGE_EVENTS = (
    "created",
    "edited",
    "submitted",
    "published",
    "draft_discarded",
    "imported",
    "ai_generated",
    "restored",
    "moved",
    "shared",
    "unshared",
    "deleted",
)
# Keyword search indexes this much of a body (tsvector values are capped at 1 MB); chunked
# retrieval covers longer documents.
SEARCH_BODY_CHARS = 200_000


def _search_vector_sql() -> str:
    """English stems for spaced languages plus CJK bigrams (see `tb_cjk_bigrams`)."""
    body = f"left(body, {SEARCH_BODY_CHARS})"
    return (
        "setweight(to_tsvector('english', title), 'A') || "
        "setweight(to_tsvector('simple', tb_cjk_bigrams(title)), 'A') || "
        f"setweight(to_tsvector('english', {body}), 'B') || "
        f"setweight(to_tsvector('simple', tb_cjk_bigrams({body})), 'B')"
    )


def _user_ref(name: str) -> sa.Column[object]:
    return sa.Column(name, UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL"))


documents = sa.Table(
    "documents",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column("title", sa.Text, nullable=False),
    # What readers see once published; the working text while the document is a draft.
    sa.Column("body", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.Text, nullable=False, server_default="draft"),
    sa.Column("visibility", sa.Text, nullable=False, server_default="team"),
    sa.Column("category_id", UUID(as_uuid=True)),
    _user_ref("author_id"),
    # A published document's pending edit (DOC-2): invisible to readers until published.
    sa.Column("draft_title", sa.Text),
    sa.Column("draft_body", sa.Text),
    sa.Column("draft_updated_at", sa.DateTime(timezone=True)),
    sa.Column("current_version", sa.Integer, nullable=False, server_default="0"),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    created_at(),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column(
        "search_vector", TSVECTOR, sa.Computed(_search_vector_sql(), persisted=True), nullable=False
    ),
    same_tenant_fk("category_id", "categories", ondelete="SET NULL (category_id)"),
    sa.UniqueConstraint("tenant_id", "id"),
    one_of("status", DOCUMENT_STATUSES),
    one_of("visibility", VISIBILITIES),
    sa.CheckConstraint("char_length(title) BETWEEN 1 AND 500", name="title_length"),
    sa.Index("ix_documents_tenant_id_updated_at", "tenant_id", sa.text("updated_at DESC"), "id"),
    # INCLUDE: the readable-count per category is an index-only scan (migration 0011).
    sa.Index(
        "ix_documents_tenant_id_category_id_readable",
        "tenant_id",
        "category_id",
        postgresql_include=["visibility", "status", "author_id"],
    ),
    sa.Index("ix_documents_tenant_id_author_id", "tenant_id", "author_id"),
    sa.Index("ix_documents_search_vector", "search_vector", postgresql_using="gin"),
)

document_versions = sa.Table(
    "document_versions",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column("document_id", UUID(as_uuid=True), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    _user_ref("created_by"),
    created_at(),
    same_tenant_fk("document_id", "documents"),
    sa.UniqueConstraint("document_id", "number"),
    one_of("reason", VERSION_REASONS),
)

# Append-only (DOC-7): a trigger refuses UPDATE, DELETE and TRUNCATE. No foreign keys, so the
# record outlives the document and a deleted user leaves only an unlinkable id.
document_lineage = sa.Table(
    "document_lineage",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("tenant_id", UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=False),
    sa.Column("document_id", UUID(as_uuid=True), nullable=False),
    sa.Column("event", sa.Text, nullable=False),
    sa.Column("actor_id", UUID(as_uuid=True)),
    sa.Column("version", sa.Integer),
    sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    created_at(),
    sa.Index("ix_document_lineage_tenant_id_document_id", "tenant_id", "document_id", "id"),
    one_of("event", LINEAGE_EVENTS),
)

shares = sa.Table(
    "shares",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column("document_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
    _user_ref("created_by"),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("last_viewed_at", sa.DateTime(timezone=True)),
    created_at(),
    same_tenant_fk("document_id", "documents"),
)
