from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from tynebase.db.metadata import created_at, metadata, same_tenant_fk, tenant_fk, uuid_pk

# The suggestions AI enhance made for one text of a document (identified by its hash), so that
# "apply these ids" applies exactly what was shown, without asking the model again.
ai_enhancements = sa.Table(
    "ai_enhancements",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column("document_id", UUID(as_uuid=True), nullable=False),
    sa.Column("text_sha256", sa.Text, nullable=False),
    sa.Column("score", sa.SmallInteger, nullable=False),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("suggestions", JSONB, nullable=False),
    sa.Column("created_by", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL")),
    created_at(),
    same_tenant_fk("document_id", "documents"),
    sa.Index("ix_ai_enhancements_tenant_id_document_id", "tenant_id", "document_id", "text_sha256"),
    sa.CheckConstraint("score BETWEEN 0 AND 100", name="score_range"),
)
