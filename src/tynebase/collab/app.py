"""`create_collab_app(settings, urls)`: the standalone collaboration server (`tynebase collab`):
the WebSocket route plus /livez, /readyz and /metrics, nothing else."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, generate_latest

from tynebase import __version__
from tynebase.collab.api import socket_router
from tynebase.collab.manager import CollabManager
from tynebase.db.engine import Database, DatabaseUrls
from tynebase.db.migrate import check_schema
from tynebase.settings import Settings

HEALTH_JSON = "application/health+json"
DB_CHECK_TIMEOUT = 2.0


async def _database_check(db: Database) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(DB_CHECK_TIMEOUT), db.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # the failure is the finding
        return {"status": "fail", "output": f"{type(exc).__name__}: {str(exc)[:200]}"}
    elapsed = round((time.perf_counter() - started) * 1000, 2)
    return {"status": "pass", "observedValue": elapsed, "observedUnit": "ms"}


def create_collab_app(settings: Settings, urls: DatabaseUrls) -> FastAPI:
    registry = CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(urls, settings)
        try:
            await check_schema(db)
            manager = CollabManager(settings, db, registry)
            app.state.collab = manager
            app.state.started_at = time.monotonic()
            async with manager.running():
                yield
        finally:
            await db.dispose()

    app = FastAPI(title="TyneBase collaboration", version=__version__, lifespan=lifespan)
    app.include_router(socket_router)

    @app.get("/livez")
    async def livez() -> Response:
        return Response(orjson.dumps({"status": "pass"}), media_type=HEALTH_JSON)

    @app.get("/readyz")
    async def readyz(request: Request) -> Response:
        manager: CollabManager = request.app.state.collab
        now = datetime.now(UTC).isoformat()
        checks = {
            "database:responseTime": [{**await _database_check(manager.db), "time": now}],
            "collab": [{**manager.health(), "time": now}],
        }
        statuses = [entry["status"] for entries in checks.values() for entry in entries]
        worst = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"
        body = {
            "status": worst,
            "version": __version__,
            "serviceId": "tynebase-collab",
            "checks": checks,
        }
        return Response(
            orjson.dumps(body), status_code=503 if worst == "fail" else 200, media_type=HEALTH_JSON
        )

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(
            generate_latest(registry), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    return app


@asynccontextmanager
async def in_process_collab(
    settings: Settings, db: Database, registry: CollectorRegistry, app: Any
) -> AsyncIterator[CollabManager | None]:
    """The collaboration server inside the API process (`tynebase serve`), when enabled."""
    if not settings.run_collab_in_process:
        yield None
        return
    manager = CollabManager(settings, db, registry)
    app.state.collab = manager
    async with manager.running():
        yield manager
