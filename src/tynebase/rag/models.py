"""Tables of retrieval: chunks with embeddings, per-document index state, chat history."""

from __future__ import annotations

import sqlalchemy as sa
from pgvector.sqlalchemy import VECTOR
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR, UUID

from tynebase.db.metadata import created_at, metadata, one_of, same_tenant_fk, tenant_fk, uuid_pk

# The embedding column has no fixed width, so another embedder can be configured without a
# migration; each supported width has its own partial HNSW index over `embedding::vector(N)`
# (created in migration 0006), and queries order by that same expression to use it.
INDEXED_DIMENSIONS = (256, 384)
SOURCE_STATUSES = ("queued", "ok", "failed")
CHAT_ROLES = ("user", "assistant")
ANSWER_KINDS = ("llm", "extractive", "not_found")


def _chunk_vector_sql() -> str:
    # The same analysis as documents.search_vector: English stems plus CJK bigrams.
    return (
        "setweight(to_tsvector('english', heading), 'A') || "
        "setweight(to_tsvector('simple', tb_cjk_bigrams(heading)), 'A') || "
        "setweight(to_tsvector('english', content), 'B') || "
        "setweight(to_tsvector('simple', tb_cjk_bigrams(content)), 'B')"
    )


rag_chunks = sa.Table(
    "rag_chunks",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column("document_id", UUID(as_uuid=True), nullable=False),
    sa.Column("version_number", sa.Integer, nullable=False),
    sa.Column("ordinal", sa.Integer, nullable=False),
    # "Title > Section > Subsection": what the chunk's text is prefixed with when embedded.
    sa.Column("heading", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("embedder", sa.Text, nullable=False),
    sa.Column("dims", sa.SmallInteger, nullable=False),
    sa.Column("embedding", VECTOR(), nullable=False),
    sa.Column(
        "search_vector", TSVECTOR, sa.Computed(_chunk_vector_sql(), persisted=True), nullable=False
    ),
    created_at(),
    same_tenant_fk("document_id", "documents"),
    sa.UniqueConstraint("document_id", "ordinal"),
    sa.Index("ix_rag_chunks_tenant_id_document_id", "tenant_id", "document_id"),
    sa.Index("ix_rag_chunks_search_vector", "search_vector", postgresql_using="gin"),
    sa.CheckConstraint("dims > 0", name="dims_positive"),
    *(
        sa.Index(
            f"ix_rag_chunks_embedding_{dims}",
            sa.text(f"((embedding)::vector({dims})) vector_cosine_ops"),
            postgresql_using="hnsw",
            postgresql_with={"m": 16, "ef_construction": 64},
            postgresql_where=sa.text(f"dims = {dims}"),
        )
        for dims in INDEXED_DIMENSIONS
    ),
)

# One row per document once indexing was asked for: what the index holds of it and how the
# last attempt went (RAG-5). No row: never indexed.
rag_sources = sa.Table(
    "rag_sources",
    metadata,
    sa.Column("document_id", UUID(as_uuid=True), primary_key=True),
    tenant_fk(),
    sa.Column("status", sa.Text, nullable=False, server_default="queued"),
    # The queued job that will (re)index the document; repeated requests reuse it.
    sa.Column("pending_job_id", UUID(as_uuid=True)),
    sa.Column("last_job_id", UUID(as_uuid=True)),
    sa.Column(
        "requested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Column("indexed_at", sa.DateTime(timezone=True)),
    sa.Column("indexed_version", sa.Integer),
    sa.Column("content_hash", sa.Text),
    sa.Column("embedder", sa.Text),
    sa.Column("chunk_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", JSONB),
    same_tenant_fk("document_id", "documents"),
    sa.Index("ix_rag_sources_tenant_id_status", "tenant_id", "status"),
    one_of("status", SOURCE_STATUSES),
)

chat_sessions = sa.Table(
    "chat_sessions",
    metadata,
    uuid_pk(),
    tenant_fk(),
    sa.Column(
        "user_id", UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("title", sa.Text, nullable=False),
    created_at(),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.UniqueConstraint("tenant_id", "id"),
    sa.Index("ix_chat_sessions_tenant_id_user_id_updated_at", "tenant_id", "user_id", "updated_at"),
)

chat_messages = sa.Table(
    "chat_messages",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    tenant_fk(),
    sa.Column("session_id", UUID(as_uuid=True), nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("answer_kind", sa.Text),
    sa.Column("citations", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    created_at(),
    same_tenant_fk("session_id", "chat_sessions"),
    sa.Index("ix_chat_messages_session_id_id", "session_id", "id"),
    one_of("role", CHAT_ROLES),
    sa.CheckConstraint(
        "answer_kind IS NULL OR answer_kind IN ('llm', 'extractive', 'not_found')",
        name="answer_kind_valid",
    ),
)
