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

FILE_KINDS = ("image", "document", "audio", "video")

files = sa.Table(
    "files",
    metadata,
    uuid_pk(),
    tenant_fk(),
    # Always under the tenant's prefix: `tenants/<tenant_id>/files/<file_id>`.
    sa.Column("storage_key", sa.Text, nullable=False, unique=True),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("content_type", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("created_by", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column("document_id", UUID(as_uuid=True), index=True),
    created_at(),
    same_tenant_fk("document_id", "documents", ondelete="SET NULL (document_id)"),
    sa.Index("ix_files_tenant_id_created_at", "tenant_id", "created_at"),
    one_of("kind", FILE_KINDS),
)
