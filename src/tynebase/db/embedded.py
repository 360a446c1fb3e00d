"""Embedded PostgreSQL 16 with pgvector (pgserver) in the data directory, for laptops and tests."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

OWNER_ROLE = "tynebase_owner"
DATABASE = "tynebase"


class EmbeddedPostgres:
    """Starts (or joins) the server in `<data_dir>/pg`; stops it when the last user exits."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._server: Any = None

    def start(self) -> None:
        with warnings.catch_warnings():
            # platformdirs warns about XDG_RUNTIME_DIR in containers; pgserver copes without it.
            warnings.simplefilter("ignore")
            import pgserver

            self.pgdata.mkdir(parents=True, exist_ok=True)
            self._server = pgserver.get_server(  # type: ignore[attr-defined]
                self.pgdata, cleanup_mode="stop"
            )
        log.info("embedded postgres ready", extra={"pgdata": str(self.pgdata)})

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    @property
    def superuser_url(self) -> str:
        assert self._server is not None, "start() first"
        return str(self._server.get_uri())

    def url(self, *, user: str, database: str = DATABASE, password: str | None = None) -> str:
        """A SQLAlchemy URL for `user` on the server's unix socket."""
        base = make_url(self.superuser_url)
        url = base.set(
            drivername="postgresql+psycopg", username=user, password=password, database=database
        )
        return url.render_as_string(hide_password=False)

    def bootstrap(self, database: str = DATABASE) -> str:
        """Create the owner role, the database and pgvector (idempotent); returns the owner URL."""
        with psycopg.connect(self.superuser_url, autocommit=True) as conn:
            if not conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (OWNER_ROLE,)
            ).fetchone():
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN CREATEROLE").format(sql.Identifier(OWNER_ROLE))
                )
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
            ).fetchone():
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(database), sql.Identifier(OWNER_ROLE)
                    )
                )
        superuser_db = make_url(self.superuser_url).set(database=database)
        with psycopg.connect(
            superuser_db.render_as_string(hide_password=False), autocommit=True
        ) as conn:
            # pgvector is not a trusted extension: the superuser creates it for the owner.
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            # Keyword search under row-level security: PostgreSQL lets the GIN index answer
            # `tsvector @@ tsquery` ahead of the tenant policy only if the operator is LEAKPROOF;
            # otherwise every search reads all of the tenant's rows. It reveals nothing but its
            # boolean result, but only a superuser may say so (docs/PERFORMANCE.md, "Search").
            conn.execute("ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF")
        return self.url(user=OWNER_ROLE, database=database)
