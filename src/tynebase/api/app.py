"""`create_app(settings, urls)`: the FastAPI app with its routers, middleware and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from tynebase import __version__
from tynebase.api.errors import install_error_handlers
from tynebase.api.middleware import RequestMiddleware
from tynebase.api.ratelimit import RateLimiter
from tynebase.api.state import AppState
from tynebase.auth import api as auth_api
from tynebase.auth.signing import KeyRing
from tynebase.db.engine import Database, DatabaseUrls
from tynebase.db.migrate import head_revision
from tynebase.documents import api as documents_api
from tynebase.export import api as export_api
from tynebase.files import api as files_api
from tynebase.imports import api as imports_api
from tynebase.jobs import api as jobs_api
from tynebase.ops import health
from tynebase.ops.metrics import Metrics
from tynebase.search import api as search_api
from tynebase.settings import Settings
from tynebase.taxonomy import api as taxonomy_api
from tynebase.taxonomy import collections_api
from tynebase.tenants import api as tenants_api
from tynebase.users import api as users_api
from tynebase.workers.worker import in_process_worker


class SchemaOutOfDate(RuntimeError):
    pass


async def _check_schema(db: Database) -> None:
    """Refuse to serve on a schema this code was not written for."""
    async with db.engine.connect() as conn:
        try:
            current = (
                await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
            ).scalar()
        except sa.exc.ProgrammingError:
            current = None
    if current != head_revision():
        raise SchemaOutOfDate(
            f"database schema is at {current or 'nothing'}, this TyneBase {__version__} needs "
            f"{head_revision()}: run `tynebase db upgrade`"
        )


def create_app(settings: Settings, urls: DatabaseUrls) -> FastAPI:
    metrics = Metrics()
    limiter = RateLimiter(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(urls, settings)
        try:
            await _check_schema(db)
            keyring = KeyRing(
                master_secret=settings.secret,
                access_ttl=settings.access_token_ttl_seconds,
                refresh_interval=settings.signing_key_refresh_seconds,
            )
            async with db.unit_of_work() as conn:
                await keyring.load(conn)
            metrics.watch_pool(db)
            app.state.tynebase = AppState(
                settings=settings, db=db, keyring=keyring, limiter=limiter, metrics=metrics
            )
            if settings.run_worker_in_process:
                async with in_process_worker(settings, db):
                    yield
            else:
                yield
        finally:
            await db.dispose()

    app = FastAPI(
        title="TyneBase",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    for router in (
        health.router,
        auth_api.router,
        auth_api.keys_router,
        users_api.members_router,
        users_api.invites_router,
        tenants_api.router,
        documents_api.router,
        documents_api.shares_router,
        documents_api.public_router,
        taxonomy_api.categories_router,
        taxonomy_api.tags_router,
        taxonomy_api.templates_router,
        collections_api.router,
        search_api.router,
        export_api.router,
        files_api.router,
        imports_api.router,
        jobs_api.router,
    ):
        app.include_router(router)
    app.add_middleware(RequestMiddleware, metrics=metrics)
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app
