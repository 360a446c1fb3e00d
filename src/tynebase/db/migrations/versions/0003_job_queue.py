"""Job queue: procrastinate's schema (its tables, types, functions and triggers).

The schema is the one the installed procrastinate ships (`procrastinate/sql/schema.sql`), read
when the migration runs; pyproject pins procrastinate to one minor version so that this is the
schema the code expects. Moving to a newer procrastinate means a new migration that applies its
`sql/migrations/*.sql` deltas.

procrastinate's tables carry no tenant_id and no RLS: they hold only queue mechanics (task name,
`{"job_id", "tenant_id"}` arguments, status). What a tenant sees is our `jobs` table (0002).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 10:00:00.000000
"""

from __future__ import annotations

from importlib import resources

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Everything procrastinate created, found by name: tables first (their triggers, indexes,
# sequences and row types go with them), then functions, then the enum and composite types.
DROP_ALL = r"""
DO $$
DECLARE
  item record;
BEGIN
  FOR item IN
    SELECT c.oid::regclass AS name FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
      AND c.relname LIKE 'procrastinate\_%'
  LOOP
    EXECUTE format('DROP TABLE IF EXISTS %s CASCADE', item.name);
  END LOOP;
  FOR item IN
    SELECT p.oid::regprocedure AS name FROM pg_proc p
    WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'procrastinate\_%'
  LOOP
    EXECUTE format('DROP FUNCTION %s', item.name);
  END LOOP;
  FOR item IN
    SELECT t.oid::regtype AS name FROM pg_type t
    WHERE t.typnamespace = 'public'::regnamespace AND t.typname LIKE 'procrastinate\_%'
      AND t.typtype IN ('e', 'c')
  LOOP
    EXECUTE format('DROP TYPE IF EXISTS %s', item.name);
  END LOOP;
END
$$
"""


def _run_script(script: str) -> None:
    """Run a multi-statement script as is: without parameters psycopg sends it in one simple
    query (SQLAlchemy's text() would treat `:name` and `%` in the functions' bodies as markup)."""
    dbapi = op.get_bind().connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        cursor.execute(script)
    finally:
        cursor.close()


def upgrade() -> None:
    schema = (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")
    _run_script(schema)


def downgrade() -> None:
    _run_script(DROP_ALL)
