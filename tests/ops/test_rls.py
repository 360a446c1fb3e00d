"""Row-level security, checked in SQL (TEN-2): the schema, the app role, and what it can see.

The API matrix (tests/api/test_cross_tenant.py) proves the application checks; these tests prove the
second wall holds on its own: as the app role, with or without a tenant set, straight in SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DB, Account, TestDatabase
from tynebase.db.rls import TENANT_SETTING, UNPROTECTED_TENANT_TABLES_SQL

# Tables the foundation migration creates with a tenant_id; later migrations only add to these.
KNOWN_TENANT_TABLES = {"api_keys", "auth_sessions", "invites", "memberships", "refresh_tokens"}

TENANT_TABLES_SQL = """
SELECT c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1
"""


def tenant_tables(conn: psycopg.Connection[Any]) -> list[str]:
    return [name for (name,) in conn.execute(TENANT_TABLES_SQL)]


@pytest.fixture
def superuser_sql(database: TestDatabase) -> Iterator[psycopg.Connection[Any]]:
    """The superuser on the test database: bypasses RLS, so it sees every tenant's rows."""
    url = make_url(database.server.superuser_url).set(database=TEST_DB)
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        yield conn


@pytest.fixture
def app_conn(app_sql: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """The app role with explicit transactions (`with conn.transaction():`)."""
    app_sql.autocommit = True
    return app_sql


def count_by_tenant(conn: psycopg.Connection[Any], table: str, tenant_id: str) -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE tenant_id = %s").format(sql.Identifier(table))
    row = conn.execute(query, (tenant_id,)).fetchone()
    assert row is not None
    return int(row[0])


def visible(conn: psycopg.Connection[Any], table: str) -> tuple[int, set[str]]:
    """(rows the connection sees in `table`, the tenant ids among them)."""
    query = sql.SQL("SELECT tenant_id::text FROM {}").format(sql.Identifier(table))
    rows = conn.execute(query).fetchall()
    return len(rows), {tenant_id for (tenant_id,) in rows}


def enter(conn: psycopg.Connection[Any], tenant_id: str) -> None:
    conn.execute("SELECT set_config(%s, %s, true)", (TENANT_SETTING, tenant_id))


@pytest.fixture
def populated(admin: Account, other_admin: Account) -> tuple[Account, Account]:
    """Two workspaces with rows in every tenant table (members, sessions, tokens, keys, invites)."""
    for account in (admin, other_admin):
        key = account.post("/api/api-keys", json={"name": "rls", "scope": "read"})
        assert key.status_code == 201, key.text
        email = f"rls-{account.subdomain}@example.com"
        invite = account.post("/api/invites", json={"email": email})
        assert invite.status_code == 201, invite.text
    return admin, other_admin


# --- the schema ----------------------------------------------------------------------------------


def test_every_tenant_table_has_forced_rls_and_a_policy(owner_sql: psycopg.Connection[Any]) -> None:
    tables = tenant_tables(owner_sql)
    assert set(tables) >= KNOWN_TENANT_TABLES
    # The product's own check (also run by `tynebase db check`)...
    assert owner_sql.execute(UNPROTECTED_TENANT_TABLES_SQL).fetchall() == []
    # ...and an independent one, through pg_tables and pg_policies.
    flags = {
        table: (enabled, forced)
        for table, enabled, forced in owner_sql.execute(
            "SELECT tablename, rowsecurity, relforcerowsecurity FROM pg_tables t "
            "JOIN pg_class c ON c.relname = t.tablename "
            "AND c.relnamespace = 'public'::regnamespace "
            "WHERE t.schemaname = 'public'"
        )
    }
    policies: dict[str, list[tuple[str, str, str | None, str | None]]] = {}
    for table, cmd, permissive, qual, check in owner_sql.execute(
        "SELECT tablename, cmd, permissive, qual, with_check FROM pg_policies "
        "WHERE schemaname = 'public'"
    ):
        policies.setdefault(table, []).append((cmd, permissive, qual, check))
    problems = []
    for table in tables:
        if flags.get(table) != (True, True):
            problems.append(f"{table}: RLS enabled/forced = {flags.get(table)}")
        tenant_policies = [
            p
            for p in policies.get(table, [])
            if p[0] == "ALL" and p[2] and p[3] and TENANT_SETTING in p[2] and TENANT_SETTING in p[3]
        ]
        if not tenant_policies:
            problems.append(
                f"{table}: no FOR ALL policy with USING and WITH CHECK on "
                f"{TENANT_SETTING}: {policies.get(table)}"
            )
        for cmd, permissive, qual, _check in policies.get(table, []):
            # Every permissive policy must fail closed without a setting: it has to compare with
            # the transaction's tenant or user, never open rows up on its own.
            if permissive == "PERMISSIVE" and not (
                qual
                and (
                    "current_setting('app.tenant_id'" in qual
                    or "current_setting('app.user_id'" in qual
                )
            ):
                problems.append(f"{table}: {cmd} policy does not depend on the tenant/user: {qual}")
    assert not problems, "\n".join(problems)


def test_the_rls_check_finds_an_unprotected_table(owner_sql: psycopg.Connection[Any]) -> None:
    """The check is not vacuous: a new tenant table without RLS is reported (and rolled back)."""
    with owner_sql.transaction() as tx:
        owner_sql.execute("CREATE TABLE rls_probe (id int, tenant_id uuid)")
        owner_sql.execute("CREATE TABLE rls_probe_half (id int, tenant_id uuid)")
        owner_sql.execute("ALTER TABLE rls_probe_half ENABLE ROW LEVEL SECURITY")
        owner_sql.execute("CREATE POLICY p ON rls_probe_half USING (true)")  # no FORCE, no CHECK
        found = [name for (name,) in owner_sql.execute(UNPROTECTED_TENANT_TABLES_SQL)]
        assert found == ["rls_probe", "rls_probe_half"]
        raise psycopg.Rollback(tx)


# --- the app role --------------------------------------------------------------------------------


def test_app_role_is_plain(app_conn: psycopg.Connection[Any]) -> None:
    row = app_conn.execute(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles "
        "WHERE rolname = current_user"
    ).fetchone()
    assert row == (False, False, False, False)
    owned = app_conn.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relowner = (SELECT oid FROM pg_roles "
        "WHERE rolname = current_user) AND c.relnamespace = 'public'::regnamespace"
    ).fetchall()
    assert owned == []
    tables = tenant_tables(app_conn)
    assert set(tables) >= KNOWN_TENANT_TABLES
    # Not the owner: it can neither switch RLS off nor create tables of its own.
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner"):
        app_conn.execute(f"ALTER TABLE {tables[0]} NO FORCE ROW LEVEL SECURITY")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute("CREATE TABLE app_role_probe (id int)")


def test_no_tenant_set_sees_no_rows(
    populated: tuple[Account, Account],
    app_conn: psycopg.Connection[Any],
    owner_sql: psycopg.Connection[Any],
    superuser_sql: psycopg.Connection[Any],
) -> None:
    a, _b = populated
    for table in tenant_tables(superuser_sql):
        seen, _ = visible(app_conn, table)
        assert seen == 0, f"the app role sees {seen} rows of {table} without a tenant"
        # FORCE: the owner is held to the policy as well.
        assert visible(owner_sql, table)[0] == 0, f"the owner sees rows of {table} without a tenant"
        with app_conn.transaction():  # an empty setting is "no tenant" too
            enter(app_conn, "")
            assert visible(app_conn, table)[0] == 0
    for table in KNOWN_TENANT_TABLES:
        assert count_by_tenant(superuser_sql, table, a.tenant_id) > 0, table


def test_tenant_set_sees_only_its_rows(
    populated: tuple[Account, Account],
    app_conn: psycopg.Connection[Any],
    superuser_sql: psycopg.Connection[Any],
) -> None:
    a, b = populated
    for table in tenant_tables(superuser_sql):
        for account in (a, b):
            with app_conn.transaction():
                enter(app_conn, account.tenant_id)
                seen, tenants = visible(app_conn, table)
            expected = count_by_tenant(superuser_sql, table, account.tenant_id)
            assert seen == expected, f"{table}: tenant sees {seen} rows, has {expected}"
            assert tenants <= {account.tenant_id}, f"{table}: sees other tenants' rows {tenants}"
    with app_conn.transaction():
        enter(app_conn, a.tenant_id)
        # B's rows cannot be changed or removed either: they do not exist for A.
        for table in tenant_tables(app_conn):
            for statement in (
                "UPDATE {} SET tenant_id = tenant_id WHERE tenant_id = %s",
                "DELETE FROM {} WHERE tenant_id = %s",
            ):
                query = sql.SQL(statement).format(sql.Identifier(table))
                assert app_conn.execute(query, (b.tenant_id,)).rowcount == 0
    for table in KNOWN_TENANT_TABLES:
        assert count_by_tenant(superuser_sql, table, b.tenant_id) > 0, table


def test_writing_another_tenants_rows_is_refused(
    populated: tuple[Account, Account], app_conn: psycopg.Connection[Any]
) -> None:
    a, b = populated
    refused = "new row violates row-level security policy"
    attempts = [
        (
            "INSERT INTO memberships (tenant_id, user_id, role) VALUES (%s, %s, 'admin')",
            (b.tenant_id, a.user_id),
        ),
        (
            "INSERT INTO invites (tenant_id, email, role, token_hash, expires_at) "
            "VALUES (%s, 'x@example.com', 'viewer', '\\x00'::bytea, now() + interval '1 day')",
            (b.tenant_id,),
        ),
        (
            "INSERT INTO api_keys (tenant_id, user_id, name, prefix, key_hash, scope) "
            "VALUES (%s, %s, 'k', 'rlsprobe01', '\\x00'::bytea, 'admin')",
            (b.tenant_id, a.user_id),
        ),
        # Moving one's own row into another tenant is refused by WITH CHECK.
        ("UPDATE memberships SET tenant_id = %s WHERE user_id = %s", (b.tenant_id, a.user_id)),
    ]
    for statement, params in attempts:
        with app_conn.transaction():
            enter(app_conn, a.tenant_id)
            with (
                pytest.raises(psycopg.errors.InsufficientPrivilege, match=refused),
                app_conn.transaction(),
            ):
                app_conn.execute(statement, params)
    # Without any tenant, nothing can be written at all.
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match=refused), app_conn.transaction():
        app_conn.execute(*attempts[0])


def test_tenant_setting_does_not_outlive_its_transaction(
    populated: tuple[Account, Account], app_conn: psycopg.Connection[Any]
) -> None:
    a, _b = populated

    def setting() -> str | None:
        row = app_conn.execute("SELECT current_setting(%s, true)", (TENANT_SETTING,)).fetchone()
        assert row is not None
        return row[0] or None

    with app_conn.transaction():
        enter(app_conn, a.tenant_id)
        assert setting() == a.tenant_id
        assert visible(app_conn, "memberships")[0] > 0
    # Committed: the next transaction on the same connection has no tenant.
    with app_conn.transaction():
        assert setting() is None
        assert visible(app_conn, "memberships")[0] == 0

    with app_conn.transaction() as tx:
        enter(app_conn, a.tenant_id)
        raise psycopg.Rollback(tx)
    # Rolled back: the same.
    with app_conn.transaction():
        assert setting() is None
        assert visible(app_conn, "memberships")[0] == 0
    assert visible(app_conn, "memberships")[0] == 0  # and outside any explicit transaction


def test_a_malformed_tenant_setting_fails_closed(app_conn: psycopg.Connection[Any]) -> None:
    with app_conn.transaction():
        enter(app_conn, "not-a-uuid")
        with pytest.raises(psycopg.errors.InvalidTextRepresentation), app_conn.transaction():
            app_conn.execute("SELECT count(*) FROM memberships")
