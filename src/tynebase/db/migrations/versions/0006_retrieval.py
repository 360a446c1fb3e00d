"""Retrieval: chunks with pgvector embeddings, HNSW index, source health (RAG-1..5).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import VECTOR
from sqlalchemy.dialects import postgresql

from tynebase.db.rls import disable_tenant_rls_sql, enable_tenant_rls_sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TENANT_TABLES = ("rag_chunks", "rag_sources", "chat_sessions", "chat_messages")
DIMENSIONS = (256, 384)  # keep in step with tynebase.rag.models.INDEXED_DIMENSIONS

CHUNK_VECTOR = (
    "setweight(to_tsvector('english', heading), 'A') || "
    "setweight(to_tsvector('simple', tb_cjk_bigrams(heading)), 'A') || "
    "setweight(to_tsvector('english', content), 'B') || "
    "setweight(to_tsvector('simple', tb_cjk_bigrams(content)), 'B')"
)


def _now() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rag_chunks",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("heading", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("embedder", sa.Text(), nullable=False),
        sa.Column("dims", sa.SmallInteger(), nullable=False),
        sa.Column("embedding", VECTOR(), nullable=False),
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(CHUNK_VECTOR, persisted=True),
            nullable=False,
        ),
        sa.Column("created_at", _now(), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("dims > 0", name=op.f("ck_rag_chunks_dims_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "document_id"],
            ["documents.tenant_id", "documents.id"],
            name=op.f("fk_rag_chunks_tenant_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_rag_chunks_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rag_chunks")),
        sa.UniqueConstraint(
            "document_id", "ordinal", name=op.f("uq_rag_chunks_document_id_ordinal")
        ),
    )
    op.create_index(
        "ix_rag_chunks_tenant_id_document_id", "rag_chunks", ["tenant_id", "document_id"]
    )
    op.create_index(
        "ix_rag_chunks_search_vector", "rag_chunks", ["search_vector"], postgresql_using="gin"
    )
    # Cosine HNSW per embedding width (pgvector 0.6: m and ef_construction; ef_search is set
    # per query). Partial, so each index only holds the vectors of its width.
    for dims in DIMENSIONS:
        op.execute(
            f"CREATE INDEX ix_rag_chunks_embedding_{dims} ON rag_chunks USING hnsw "
            f"((embedding::vector({dims})) vector_cosine_ops) "
            f"WITH (m = 16, ef_construction = 64) WHERE dims = {dims}"
        )
    op.create_table(
        "rag_sources",
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("pending_job_id", sa.UUID(), nullable=True),
        sa.Column("last_job_id", sa.UUID(), nullable=True),
        sa.Column("requested_at", _now(), server_default=sa.text("now()"), nullable=False),
        sa.Column("indexed_at", _now(), nullable=True),
        sa.Column("indexed_version", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.Text(), nullable=True),
        sa.Column("embedder", sa.Text(), nullable=True),
        sa.Column("chunk_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'ok', 'failed')", name=op.f("ck_rag_sources_status_valid")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "document_id"],
            ["documents.tenant_id", "documents.id"],
            name=op.f("fk_rag_sources_tenant_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_rag_sources_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_rag_sources")),
    )
    op.create_index("ix_rag_sources_tenant_id_status", "rag_sources", ["tenant_id", "status"])
    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("created_at", _now(), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", _now(), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_chat_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_sessions")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_chat_sessions_tenant_id_id")),
    )
    op.create_index(
        "ix_chat_sessions_tenant_id_user_id_updated_at",
        "chat_sessions",
        ["tenant_id", "user_id", "updated_at"],
    )
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("answer_kind", sa.Text(), nullable=True),
        sa.Column(
            "citations",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("created_at", _now(), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "answer_kind IS NULL OR answer_kind IN ('llm', 'extractive', 'not_found')",
            name=op.f("ck_chat_messages_answer_kind_valid"),
        ),
        sa.CheckConstraint(
            "role IN ('user', 'assistant')", name=op.f("ck_chat_messages_role_valid")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "session_id"],
            ["chat_sessions.tenant_id", "chat_sessions.id"],
            name=op.f("fk_chat_messages_tenant_id_chat_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_chat_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    op.create_index("ix_chat_messages_session_id_id", "chat_messages", ["session_id", "id"])
    for table in TENANT_TABLES:
        for statement in enable_tenant_rls_sql(table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        for statement in disable_tenant_rls_sql(table):
            op.execute(statement)
    op.drop_index("ix_chat_messages_session_id_id", table_name="chat_messages")
    op.drop_table("chat_messages")
    op.drop_index("ix_chat_sessions_tenant_id_user_id_updated_at", table_name="chat_sessions")
    op.drop_table("chat_sessions")
    op.drop_index("ix_rag_sources_tenant_id_status", table_name="rag_sources")
    op.drop_table("rag_sources")
    for dims in DIMENSIONS:
        op.execute(f"DROP INDEX IF EXISTS ix_rag_chunks_embedding_{dims}")
    op.drop_index("ix_rag_chunks_search_vector", table_name="rag_chunks")
    op.drop_index("ix_rag_chunks_tenant_id_document_id", table_name="rag_chunks")
    op.drop_table("rag_chunks")
