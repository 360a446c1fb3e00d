"""Per-category document counts from the index alone.

The workspace home counts the documents each reader may see per category. The visibility rule
reads `visibility`, `status` and `author_id`; with those in the (tenant_id, category_id) index
as INCLUDE columns, Postgres answers the count with an index-only scan for every role instead
of visiting each row of the table (docs/PERFORMANCE.md, "Web application").

Built CONCURRENTLY (outside the migration's transaction), so a large documents table stays
writable while it builds.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 05:20:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OLD = "ix_documents_tenant_id_category_id"
NEW = "ix_documents_tenant_id_category_id_readable"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {NEW} ON documents "
            "(tenant_id, category_id) INCLUDE (visibility, status, author_id)"
        )
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {OLD}")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {OLD} ON documents (tenant_id, category_id)"
        )
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NEW}")
