"""`create_app(settings, urls)`: the FastAPI app with its routers, middleware and lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from tynebase import __version__
from tynebase.admin import api as admin_api
from tynebase.ai import generation_api as ai_generation_api
from tynebase.ai import preferences_api as ai_preferences_api
from tynebase.ai.providers.registry import get_router as get_ai_router
from tynebase.api.errors import install_error_handlers
from tynebase.api.middleware import RequestMiddleware
from tynebase.api.ratelimit import RateLimiter
from tynebase.api.state import AppState
from tynebase.audit import api as audit_api
from tynebase.auth import api as auth_api
from tynebase.auth.passwords import configure_hashing
from tynebase.auth.signing import KeyRing
from tynebase.collab import api as collab_api
from tynebase.collab import external
from tynebase.collab.app import in_process_collab
from tynebase.consents import api as consents_api
from tynebase.credits import api as credits_api
from tynebase.db.engine import Database, DatabaseUrls
from tynebase.db.migrate import check_schema
from tynebase.documents import api as documents_api
from tynebase.export import api as export_api
from tynebase.files import api as files_api
from tynebase.gdpr import api as gdpr_api
from tynebase.imports import api as imports_api
from tynebase.imports import url_api as url_imports_api
from tynebase.jobs import api as jobs_api
from tynebase.ops import health
from tynebase.ops import status as status_api
from tynebase.ops.metrics import Metrics
from tynebase.ops.middleware import OperationsMiddleware
from tynebase.rag import api as rag_api
from tynebase.search import api as search_api
from tynebase.settings import Settings
from tynebase.taxonomy import api as taxonomy_api
from tynebase.taxonomy import collections_api
from tynebase.tenants import api as tenants_api
from tynebase.users import api as users_api
from tynebase.web import branding_api
from tynebase.web.app import create_web_app
from tynebase.web.bridge import ApiBridgeMiddleware
from tynebase.web.headers import SecurityHeadersMiddleware
from tynebase.workers.worker import in_process_worker


def create_app(settings: Settings, urls: DatabaseUrls) -> FastAPI:
    configure_hashing(settings)
    external.listen_for_edits()  # document edits made here reach open collaboration rooms
    metrics = Metrics()
    get_ai_router(settings).metrics.register(metrics.registry)
    limiter = RateLimiter(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(urls, settings)
        try:
            await check_schema(db)
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
            async with in_process_collab(settings, db, metrics.registry, app):
                if settings.run_worker_in_process:
                    async with in_process_worker(settings, db):
                        yield
                else:
                    yield
        finally:
            await get_ai_router(settings).aclose()  # this loop's HTTP clients
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
        rag_api.router,
        rag_api.chat_router,
        export_api.router,
        files_api.router,
        imports_api.router,
        jobs_api.router,
        audit_api.router,
        admin_api.router,
        status_api.router,
        credits_api.router,
        url_imports_api.router,
        ai_generation_api.router,
        consents_api.router,
        consents_api.gdpr_router,
        gdpr_api.me_router,
        gdpr_api.admin_router,
        gdpr_api.gdpr_router,
        ai_preferences_api.router,
        collab_api.ticket_router,
    ):
        app.include_router(router)
    if settings.run_collab_in_process:
        app.include_router(collab_api.socket_router)
    app.include_router(branding_api.router)
    app.mount("/", create_web_app(app, settings))  # the pages: after every API route
    app.add_middleware(OperationsMiddleware)  # inside RequestMiddleware: ids, metrics
    # /w/{sub}/api/... -> /api/... with the cookie session; outside the operations gate.
    app.add_middleware(ApiBridgeMiddleware)
    app.add_middleware(RequestMiddleware, metrics=metrics)
    app.add_middleware(SecurityHeadersMiddleware, collab_origin=collab_api.collab_url(settings))
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    return app
