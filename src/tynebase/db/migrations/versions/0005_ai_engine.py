"""AI engine: provider preferences per tenant (AI-1, AI-2).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tynebase.db.rls import disable_tenant_rls_sql, enable_tenant_rls_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ai_preferences",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "task IN ('chat', 'generate', 'embed', 'rerank', 'transcribe')",
            name=op.f("ck_ai_preferences_task_valid"),
        ),
        sa.CheckConstraint(
            "char_length(provider) BETWEEN 1 AND 40",
            name=op.f("ck_ai_preferences_provider_length"),
        ),
        sa.CheckConstraint(
            "char_length(model) BETWEEN 1 AND 200", name=op.f("ck_ai_preferences_model_length")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ai_preferences_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_ai_preferences_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "task", name=op.f("pk_ai_preferences")),
    )
    for statement in enable_tenant_rls_sql("ai_preferences"):
        op.execute(statement)


def downgrade() -> None:
    for statement in disable_tenant_rls_sql("ai_preferences"):
        op.execute(statement)
    op.drop_table("ai_preferences")
