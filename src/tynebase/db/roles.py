"""The two database roles: the owner (runs migrations) and the app role (serves requests).

The app role is never owner, superuser or BYPASSRLS, so row-level security always applies to it.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql


class UnsafeAppRole(RuntimeError):
    pass


def ensure_app_role(conn: psycopg.Connection[Any], *, role: str, password: str) -> None:
    """Create the app role if missing, (re)set its password, refuse one that bypasses RLS."""
    row = conn.execute(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", (role,)
    ).fetchone()
    ident, secret = sql.Identifier(role), sql.Literal(password)
    if row is None:
        conn.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD {}"
            ).format(ident, secret)
        )
        return
    if any(row):
        raise UnsafeAppRole(
            f"role {role} is SUPERUSER or BYPASSRLS: row-level security would not "
            "apply to it; use a plain role (TYNEBASE_DB_APP_ROLE)"
        )
    conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, secret))


def grant_app_privileges(conn: psycopg.Connection[Any], *, role: str) -> None:
    """Give the app role data access (not DDL) to everything the owner created or will create."""
    ident = sql.Identifier(role)
    database = conn.execute("SELECT current_database()").fetchone()
    assert database is not None
    for statement in (
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database[0]), ident),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(ident),
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(
            ident
        ),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(ident),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
        ).format(ident),
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}"
        ).format(ident),
    ):
        conn.execute(statement)
