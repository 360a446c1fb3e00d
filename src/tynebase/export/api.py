"""GET /api/export/markdown: the workspace's documents as a Markdown zip (admins)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.export import markdown

router = APIRouter(prefix="/api/export", tags=["export"], responses=COMMON_ERRORS)


@router.get(
    "/markdown",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
            "description": "A zip of Markdown files with front matter, a folder per category",
        }
    },
)
async def export_markdown(ctx: AuthCtx) -> StreamingResponse:
    """Every document the caller may read, as Markdown files with front matter (admins)."""
    ctx.principal.check_role("admin")
    state, tenant, principal = ctx.state, ctx.tenant, ctx.principal

    async def body() -> AsyncIterator[bytes]:
        # The zip is streamed after this request's own transaction has ended, so it reads in a
        # unit of work of its own (same tenant, same principal, checked above).
        async with state.db.unit_of_work(tenant.id) as conn:
            async for chunk in markdown.stream_zip(conn, principal=principal):
                yield chunk

    day = datetime.now(UTC).date().isoformat()
    return StreamingResponse(
        body(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{tenant.subdomain}-markdown-{day}.zip"'
        },
    )
