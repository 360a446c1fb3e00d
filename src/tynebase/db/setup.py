"""Open the database an entry point needs: the embedded server or DATABASE_URL, roles, schema."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url

from tynebase.db.embedded import EmbeddedPostgres
from tynebase.db.engine import DatabaseUrls, libpq_url
from tynebase.db.roles import ensure_app_role
from tynebase.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class OpenedDatabase:
    urls: DatabaseUrls
    embedded: EmbeddedPostgres | None

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()


def open_database(settings: Settings, *, upgrade: bool) -> OpenedDatabase:
    """Start the embedded server if no DATABASE_URL; with `upgrade`, create the app role and
    migrate to head (what `tynebase serve` and `tynebase db upgrade` do)."""
    embedded = None
    if settings.database_url is None:
        embedded = EmbeddedPostgres(settings.data_dir)
        embedded.start()
        owner_url = embedded.bootstrap()
    else:
        owner_url = settings.database_url
    urls = DatabaseUrls(owner=owner_url, app=settings.app_url_from(owner_url))
    if upgrade:
        prepare_schema(settings, urls)
    return OpenedDatabase(urls=urls, embedded=embedded)


def prepare_schema(settings: Settings, urls: DatabaseUrls) -> None:
    # Alembic only here: every other database command opens the database without migrating.
    from tynebase.db import migrate

    if settings.app_database_url is None:  # we own the app role's password: keep it in step
        password = make_url(urls.app).password
        assert password is not None
        with psycopg.connect(libpq_url(urls.owner), autocommit=True) as conn:
            ensure_app_role(conn, role=settings.db_app_role, password=str(password))
    migrate.upgrade(urls.owner, app_role=settings.db_app_role)
    log.info("database schema at head", extra={"revision": migrate.head_revision()})
