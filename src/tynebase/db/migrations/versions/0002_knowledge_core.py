"""Knowledge core: documents, versions, lineage, taxonomy, templates, shares, files, jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 21:45:47.711696
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tynebase.db.frozen.knowledge_core_documents import create_document_tables
from tynebase.db.frozen.knowledge_core_taxonomy import create_taxonomy_and_job_tables
from tynebase.db.rls import enable_tenant_rls_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TENANT_TABLES = (
    "categories",
    "collections",
    "document_lineage",
    "jobs",
    "tags",
    "templates",
    "collection_members",
    "documents",
    "collection_documents",
    "document_tags",
    "document_versions",
    "files",
    "shares",
)

# Overlapping character pairs of every CJK run: those scripts have no spaces, so bigrams are the
# searchable units (pgserver ships no pg_trgm; bigrams also rank better than trigrams there).
CJK_BIGRAMS = r"""
CREATE FUNCTION tb_cjk_bigrams(input text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT coalesce(string_agg(substr(run[1], i, 2), ' '), '')
  FROM regexp_matches(input,
         '([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+)', 'g') AS run,
       generate_series(1, greatest(char_length(run[1]) - 1, 1)) AS i
$$
"""

APPEND_ONLY = """
CREATE FUNCTION tb_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$
"""

GLOBAL_TEMPLATES = [
    (
        "Meeting notes",
        "Agenda, decisions and action items",
        "Meeting notes",
        "## Attendees\n\n## Agenda\n\n## Decisions\n\n## Action items\n",
    ),
    (
        "How-to guide",
        "Step-by-step instructions for a task",
        "How to ...",
        "## Before you start\n\n## Steps\n\n1. \n\n## Troubleshooting\n",
    ),
    (
        "Incident postmortem",
        "What happened, impact, causes and follow-ups",
        "Postmortem: ...",
        "## Summary\n\n## Impact\n\n## Timeline\n\n## Root cause\n\n"
        "## What went well\n\n## Follow-ups\n",
    ),
    (
        "Decision record",
        "Context, options and the decision taken",
        "Decision: ...",
        "## Context\n\n## Options\n\n## Decision\n\n## Consequences\n",
    ),
]


def upgrade() -> None:
    op.execute(CJK_BIGRAMS)
    op.execute(APPEND_ONLY)
    create_taxonomy_and_job_tables()
    create_document_tables()
    for table in TENANT_TABLES:
        for statement in enable_tenant_rls_sql(table):
            op.execute(statement)
    op.execute(
        "CREATE TRIGGER document_lineage_append_only BEFORE UPDATE OR DELETE ON "
        "document_lineage FOR EACH ROW EXECUTE FUNCTION tb_refuse_change()"
    )
    op.execute(
        "CREATE TRIGGER document_lineage_no_truncate BEFORE TRUNCATE ON document_lineage "
        "FOR EACH STATEMENT EXECUTE FUNCTION tb_refuse_change()"
    )
    templates = sa.table(
        "global_templates",
        sa.column("name"),
        sa.column("description"),
        sa.column("title"),
        sa.column("body"),
    )
    op.bulk_insert(
        templates,
        [
            dict(zip(("name", "description", "title", "body"), row, strict=True))
            for row in GLOBAL_TEMPLATES
        ],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_shares_document_id"), table_name="shares")
    op.drop_table("shares")
    op.drop_index("ix_files_tenant_id_created_at", table_name="files")
    op.drop_index(op.f("ix_files_document_id"), table_name="files")
    op.drop_table("files")
    op.drop_table("document_versions")
    op.drop_index("ix_document_tags_tag_id", table_name="document_tags")
    op.drop_table("document_tags")
    op.drop_table("collection_documents")
    op.drop_index("ix_documents_tenant_id_updated_at", table_name="documents")
    op.drop_index("ix_documents_tenant_id_category_id", table_name="documents")
    op.drop_index("ix_documents_tenant_id_author_id", table_name="documents")
    op.drop_index("ix_documents_search_vector", table_name="documents", postgresql_using="gin")
    op.drop_table("documents")
    op.drop_table("collection_members")
    op.drop_table("templates")
    op.drop_table("tags")
    op.drop_index("ix_jobs_tenant_id_created_at", table_name="jobs")
    op.drop_index(op.f("ix_jobs_queue_job_id"), table_name="jobs")
    op.drop_table("jobs")
    op.drop_index("ix_document_lineage_tenant_id_document_id", table_name="document_lineage")
    op.drop_table("document_lineage")
    op.drop_table("collections")
    op.drop_table("categories")
    op.drop_table("global_templates")
    op.execute("DROP FUNCTION tb_refuse_change()")
    op.execute("DROP FUNCTION tb_cjk_bigrams(text)")
