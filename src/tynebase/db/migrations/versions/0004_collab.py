"""Collaboration: Yjs update log, snapshots and socket tickets (COL-2, COL-4).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tynebase.db.rls import disable_tenant_rls_sql, enable_tenant_rls_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TENANT_TABLES = ("collab_documents", "collab_updates", "collab_tickets")


def _tenant_columns(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{table}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "document_id"],
            ["documents.tenant_id", "documents.id"],
            name=op.f(f"fk_{table}_tenant_id_documents"),
            ondelete="CASCADE",
        ),
    ]


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "collab_documents",
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("snapshot", sa.LargeBinary(), nullable=False),
        sa.Column("compacted_updates", sa.BigInteger(), server_default="0", nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        *_tenant_columns("collab_documents"),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_collab_documents")),
    )
    op.create_table(
        "collab_updates",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("update", sa.LargeBinary(), nullable=False),
        _timestamp("created_at"),
        *_tenant_columns("collab_updates"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collab_updates")),
    )
    op.create_index(
        "ix_collab_updates_document_id_id", "collab_updates", ["document_id", "id"], unique=False
    )
    op.create_table(
        "collab_tickets",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=True),
        sa.Column("api_key_id", sa.UUID(), nullable=True),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _timestamp("created_at"),
        *_tenant_columns("collab_tickets"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_collab_tickets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collab_tickets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_collab_tickets_token_hash")),
    )
    op.create_index(
        "ix_collab_tickets_tenant_id_expires_at",
        "collab_tickets",
        ["tenant_id", "expires_at"],
        unique=False,
    )
    for table in TENANT_TABLES:
        for statement in enable_tenant_rls_sql(table):
            op.execute(statement)


def downgrade() -> None:
    for table in TENANT_TABLES:
        for statement in disable_tenant_rls_sql(table):
            op.execute(statement)
    op.drop_index("ix_collab_tickets_tenant_id_expires_at", table_name="collab_tickets")
    op.drop_table("collab_tickets")
    op.drop_index("ix_collab_updates_document_id_id", table_name="collab_updates")
    op.drop_table("collab_updates")
    op.drop_table("collab_documents")
