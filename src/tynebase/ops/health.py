"""Health endpoints: /health (seed shape), /livez (process only), /readyz (dependencies, in
`application/health+json`: pass/warn/fail per check; fail answers 503)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from tynebase import __version__
from tynebase.api.deps import app_state
from tynebase.api.state import AppState
from tynebase.db.migrate import head_revision

HEALTH_JSON = "application/health+json"
DB_CHECK_TIMEOUT = 2.0
POOL_WARN_RATIO = 0.9
_RANK = {"pass": 0, "warn": 1, "fail": 2}

router = APIRouter(tags=["health"])


class HealthResponse(Response):
    """Documents `application/health+json` (not FastAPI's default JSON) for /livez and /readyz."""

    media_type = HEALTH_JSON


_STATUS = {"type": "string", "enum": list(_RANK)}
_LIVEZ_SCHEMA = {"type": "object", "required": ["status"], "properties": {"status": _STATUS}}
_READYZ_SCHEMA = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": _STATUS,
        "version": {"type": "string"},
        "serviceId": {"type": "string"},
        "checks": {
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {"status": _STATUS},
                },
            },
        },
    },
}


def _check(status: str, **fields: Any) -> dict[str, Any]:
    return {"status": status, "time": datetime.now(UTC).isoformat(), **fields}


async def _database_checks(state: AppState) -> dict[str, list[dict[str, Any]]]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(DB_CHECK_TIMEOUT), state.db.engine.connect() as conn:
            revision = (
                await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
            ).scalar()
    except Exception as exc:  # any failure to reach the database is the finding itself
        failure = _check("fail", output=f"{type(exc).__name__}: {str(exc)[:200]}")
        return {
            "database:responseTime": [failure],
            "migrations": [_check("fail", output="database unreachable")],
        }
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    head = head_revision()
    migrations = (
        _check("pass", observedValue=revision)
        if revision == head
        else _check(
            "fail",
            observedValue=revision,
            output=f"schema at {revision}, code expects {head}: run `tynebase db upgrade`",
        )
    )
    return {
        "database:responseTime": [_check("pass", observedValue=elapsed_ms, observedUnit="ms")],
        "migrations": [migrations],
    }


def _pool_check(state: AppState) -> dict[str, list[dict[str, Any]]]:
    pool = state.db.engine.sync_engine.pool
    size = getattr(pool, "size", lambda: 0)()
    capacity = size + state.settings.db_max_overflow
    in_use = getattr(pool, "checkedout", lambda: 0)()
    ratio = in_use / capacity if capacity else 0.0
    status = "warn" if ratio >= POOL_WARN_RATIO else "pass"
    return {
        "database:connections": [
            _check(
                status,
                observedValue=in_use,
                observedUnit="connections",
                output=f"{in_use} of {capacity} in use",
            )
        ]
    }


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    state = app_state(request)
    return {
        "status": "ok",
        "timestamp": datetime.now(UTC).isoformat(),
        "uptime": round(time.monotonic() - state.started_at, 3),
        "environment": state.settings.environment.value,
        "version": __version__,
    }


@router.get(
    "/livez",
    response_class=HealthResponse,
    responses={200: {"content": {HEALTH_JSON: {"schema": _LIVEZ_SCHEMA}}}},
)
async def livez() -> Response:
    return Response(orjson.dumps({"status": "pass"}), media_type=HEALTH_JSON)


@router.get(
    "/readyz",
    response_class=HealthResponse,
    responses={
        200: {"content": {HEALTH_JSON: {"schema": _READYZ_SCHEMA}}},
        503: {
            "description": "A dependency check failed",
            "content": {HEALTH_JSON: {"schema": _READYZ_SCHEMA}},
        },
    },
)
async def readyz(request: Request) -> Response:
    state = app_state(request)
    checks = {**await _database_checks(state), **_pool_check(state)}
    worst = max(
        (entry["status"] for entries in checks.values() for entry in entries),
        key=_RANK.__getitem__,
        default="pass",
    )
    body = {"status": worst, "version": __version__, "serviceId": "tynebase-api", "checks": checks}
    return Response(
        orjson.dumps(body), status_code=503 if worst == "fail" else 200, media_type=HEALTH_JSON
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(
        app_state(request).metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
