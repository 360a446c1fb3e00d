"""GET /api/status: public service status for people and status pages (OPS-8): whether the
service is in maintenance (read-only), its message and expected end, and announced windows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from tynebase import __version__
from tynebase.api.deps import app_state
from tynebase.ops.middleware import maintenance_cache

router = APIRouter(prefix="/api", tags=["status"])


@router.get("/status")
async def status(request: Request) -> dict[str, Any]:
    """`{"status": "ok"|"maintenance", "maintenance": {...}|null, "scheduled": [...]}`."""
    state = app_state(request)
    current = await maintenance_cache(request.app.state, state).get(state.db)
    now = datetime.now(UTC)
    active = current.active
    return {
        "status": "maintenance" if active else "ok",
        "version": __version__,
        "time": now.isoformat(),
        "maintenance": {
            "message": active.message,
            "since": active.starts_at.isoformat(),
            "until": active.ends_at.isoformat() if active.ends_at else None,
            "retry_after": current.retry_after(
                now=now, default=state.settings.maintenance_retry_after_seconds
            ),
            "read_only": True,
        }
        if active
        else None,
        "scheduled": [window.as_json() for window in current.upcoming],
    }
