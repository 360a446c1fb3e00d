"""The public status page: readiness checks and the maintenance notice."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from fastapi.responses import Response

from tynebase.ops import health
from tynebase.web.context import AnonCtx

router = APIRouter(include_in_schema=False)


@router.get("/status")
async def status(page: AnonCtx) -> Response:
    # The same report as /readyz (the web app shares the API app's state).
    ready = await health.readyz(page.request)
    report = orjson.loads(bytes(ready.body))
    checks = [
        (name, entries[0].get("status", "?") if entries else "?")
        for name, entries in report.get("checks", {}).items()
    ]
    return page.render("status.html", overall=report.get("status", "unknown"), checks=checks)
