"""Per-request operations concerns, as one pure-ASGI middleware inside the request middleware
(so refusals carry X-Request-ID and are counted): the maintenance gate and the client address
that audit entries record."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from tynebase.api.state import AppState
from tynebase.audit.context import client_ip_var
from tynebase.ops.maintenance import MaintenanceCache

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Writes that stay open in maintenance: people must be able to sign in to read, and to leave.
ALLOWED_WRITES = frozenset({"/api/auth/login", "/api/auth/refresh", "/api/auth/logout"})


def maintenance_cache(app_state_holder: object, state: AppState) -> MaintenanceCache:
    """The app's one cache, made on first use (the lifespan has built the settings by then)."""
    cache: MaintenanceCache | None = getattr(app_state_holder, "maintenance_cache", None)
    if cache is None:
        cache = MaintenanceCache(state.settings.maintenance_cache_seconds)
        app_state_holder.maintenance_cache = cache  # type: ignore[attr-defined]
    return cache


class OperationsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = client_ip_var.set(client[0] if client else None)
        try:
            if (
                scope["method"] not in SAFE_METHODS
                and scope["path"].startswith("/api/")
                and scope["path"] not in ALLOWED_WRITES
                and await self._refuse(scope, send)
            ):
                return
            await self.app(scope, receive, send)
        finally:
            client_ip_var.reset(token)

    @staticmethod
    async def _refuse(scope: Scope, send: Send) -> bool:
        app = scope["app"]
        state: AppState | None = getattr(app.state, "tynebase", None)
        if state is None:
            return False
        current = await maintenance_cache(app.state, state).get(state.db)
        if current.active is None:
            return False
        now = datetime.now(UTC)
        retry_after = current.retry_after(
            now=now, default=state.settings.maintenance_retry_after_seconds
        )
        until = current.active.ends_at.isoformat() if current.active.ends_at else None
        body = orjson.dumps(
            {
                "error": {
                    "code": "MAINTENANCE",
                    "message": current.active.message,
                    "details": {"until": until, "retry_after": retry_after},
                }
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return True
