"""Credits, consents and AI enhance: monthly pools, reservation ledger, notices, user consents,
stored enhance suggestions (AI-3, AI-4, AI-5, GDPR-2).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from tynebase.db.rls import disable_tenant_rls_sql, enable_tenant_rls_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TENANT_TABLES = ("credit_pools", "credit_charges", "credit_notices", "ai_enhancements")


def _created_at(name: str = "created_at") -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=op.f(f"fk_{table}_tenant_id_tenants"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "credit_pools",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("allowance_millis", sa.BigInteger(), nullable=False),
        sa.Column("tier", sa.Text(), nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "allowance_millis >= 0", name=op.f("ck_credit_pools_allowance_positive")
        ),
        _tenant_fk("credit_pools"),
        sa.PrimaryKeyConstraint("tenant_id", "period_start", name=op.f("pk_credit_pools")),
    )
    op.create_table(
        "credit_charges",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="reserved", nullable=False),
        sa.Column("reserved_millis", sa.BigInteger(), nullable=False),
        sa.Column("charged_millis", sa.BigInteger(), nullable=True),
        sa.Column("job_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        _created_at(),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "reserved_millis >= 0 AND charged_millis >= 0",
            name=op.f("ck_credit_charges_amounts_positive"),
        ),
        sa.CheckConstraint(
            "status IN ('reserved', 'committed', 'released')",
            name=op.f("ck_credit_charges_status_valid"),
        ),
        _tenant_fk("credit_charges"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_charges")),
        sa.UniqueConstraint("tenant_id", "job_id", name=op.f("uq_credit_charges_tenant_id_job_id")),
    )
    op.create_index(
        "ix_credit_charges_tenant_id_period_start_status",
        "credit_charges",
        ["tenant_id", "period_start", "status"],
        unique=False,
    )
    op.create_index(
        "ix_credit_charges_tenant_id_created_at",
        "credit_charges",
        ["tenant_id", sa.literal_column("created_at DESC"), "id"],
        unique=False,
    )
    op.create_table(
        "credit_notices",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("threshold", sa.SmallInteger(), nullable=False),
        sa.Column("used_millis", sa.BigInteger(), nullable=False),
        sa.Column("allowance_millis", sa.BigInteger(), nullable=False),
        _created_at(),
        _tenant_fk("credit_notices"),
        sa.PrimaryKeyConstraint(
            "tenant_id", "period_start", "threshold", name=op.f("pk_credit_notices")
        ),
    )
    op.create_table(
        "user_consents",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("ai_processing", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("knowledge_indexing", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("analytics", sa.Boolean(), server_default=sa.true(), nullable=False),
        _created_at("updated_at"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_consents_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_consents")),
    )
    op.create_table(
        "user_consent_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "kind IN ('ai_processing', 'knowledge_indexing', 'analytics')",
            name=op.f("ck_user_consent_events_kind_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_consent_events_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_consent_events")),
    )
    op.create_index(
        op.f("ix_user_consent_events_user_id"), "user_consent_events", ["user_id"], unique=False
    )
    op.create_table(
        "ai_enhancements",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("text_sha256", sa.Text(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("suggestions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        _created_at(),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_ai_enhancements_score_range")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_ai_enhancements_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "document_id"],
            ["documents.tenant_id", "documents.id"],
            name=op.f("fk_ai_enhancements_tenant_id_documents"),
            ondelete="CASCADE",
        ),
        _tenant_fk("ai_enhancements"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_enhancements")),
    )
    op.create_index(
        "ix_ai_enhancements_tenant_id_document_id",
        "ai_enhancements",
        ["tenant_id", "document_id", "text_sha256"],
        unique=False,
    )
    for table in TENANT_TABLES:
        for statement in enable_tenant_rls_sql(table):
            op.execute(statement)


def downgrade() -> None:
    for table in TENANT_TABLES:
        for statement in disable_tenant_rls_sql(table):
            op.execute(statement)
    op.drop_index("ix_ai_enhancements_tenant_id_document_id", table_name="ai_enhancements")
    op.drop_table("ai_enhancements")
    op.drop_index(op.f("ix_user_consent_events_user_id"), table_name="user_consent_events")
    op.drop_table("user_consent_events")
    op.drop_table("user_consents")
    op.drop_table("credit_notices")
    op.drop_index("ix_credit_charges_tenant_id_created_at", table_name="credit_charges")
    op.drop_index("ix_credit_charges_tenant_id_period_start_status", table_name="credit_charges")
    op.drop_table("credit_charges")
    op.drop_table("credit_pools")
