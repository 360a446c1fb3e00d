"""Row-level security: the per-transaction tenant setting and the policy every tenant table gets."""

from __future__ import annotations

TENANT_SETTING = "app.tenant_id"
# NULLIF: after a transaction that set it locally the setting reads '' (not NULL) for the rest of
# the session; both mean "no tenant", and both must match no row.
CURRENT_TENANT_SQL = f"NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"
USER_SETTING = "app.user_id"
CURRENT_USER_SQL = f"NULLIF(current_setting('{USER_SETTING}', true), '')::uuid"
POLICY_NAME = "tenant_isolation"
OWN_ROWS_POLICY_NAME = "own_rows_read"


def enable_tenant_rls_sql(table: str) -> list[str]:
    """Statements that make `table` visible only to the transaction's tenant, owner included."""
    condition = f"tenant_id = {CURRENT_TENANT_SQL}"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {table} USING ({condition}) WITH CHECK ({condition})",
    ]


def own_rows_read_policy_sql(table: str) -> list[str]:
    """Let a user read their own rows of `table` in any tenant (e.g. "my workspaces"), when the
    transaction names the user; writes stay limited to the current tenant."""
    return [
        f"CREATE POLICY {OWN_ROWS_POLICY_NAME} ON {table} FOR SELECT "
        f"USING (user_id = {CURRENT_USER_SQL})"
    ]


def disable_tenant_rls_sql(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS {OWN_ROWS_POLICY_NAME} ON {table}",
        f"DROP POLICY IF EXISTS {POLICY_NAME} ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


# Lists tables with a tenant_id column that lack FORCE RLS or a USING + WITH CHECK policy.
UNPROTECTED_TENANT_TABLES_SQL = """
SELECT c.relname
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND NOT (
    c.relrowsecurity AND c.relforcerowsecurity
    AND EXISTS (
      SELECT 1 FROM pg_policy p
      WHERE p.polrelid = c.oid AND p.polqual IS NOT NULL AND p.polwithcheck IS NOT NULL
    )
  )
ORDER BY 1
"""
