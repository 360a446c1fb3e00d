"""Collaboration tables: the Yjs update log, the compacted snapshot, and socket tickets."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID

from tynebase.db.metadata import created_at, metadata, same_tenant_fk, tenant_fk, uuid_pk

# One row per document that has Yjs state: the merged snapshot of every update compacted so far.
# Its presence also means "seeded": the Y.Text was filled from the Markdown body exactly once.
collab_documents = sa.Table(
    "collab_documents",
    metadata,
    tenant_fk(),
    sa.Column("document_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("snapshot", sa.LargeBinary, nullable=False),
    sa.Column("compacted_updates", sa.BigInteger, nullable=False, server_default="0"),
    created_at(),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    same_tenant_fk("document_id", "documents"),
)

# Append-only log of client updates since the snapshot; compaction merges and deletes rows.
collab_updates = sa.Table(
    "collab_updates",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    tenant_fk(),
    sa.Column("document_id", UUID(as_uuid=True), nullable=False),
    sa.Column("update", sa.LargeBinary, nullable=False),
    created_at(),
    same_tenant_fk("document_id", "documents"),
    sa.Index("ix_collab_updates_document_id_id", "document_id", "id"),
)

# Single-use tickets (COL-2): only the SHA-256 of the ticket is stored.
collab_tickets = sa.Table(
    "collab_tickets",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column("token_hash", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("document_id", UUID(as_uuid=True), nullable=False),
    sa.Column(
        "user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("session_id", UUID(as_uuid=True)),
    sa.Column("api_key_id", UUID(as_uuid=True)),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("read_only", sa.Boolean, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    created_at(),
    same_tenant_fk("document_id", "documents"),
    sa.Index("ix_collab_tickets_tenant_id_expires_at", "tenant_id", "expires_at"),
)
