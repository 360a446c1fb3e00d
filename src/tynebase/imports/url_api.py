"""URL import route: POST /api/imports/url → a job (FILE-4)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.imports import url as service
from tynebase.net.fetch import MAX_URL_CHARS

router = APIRouter(prefix="/api/imports/url", tags=["imports"], responses=COMMON_ERRORS)


class UrlImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=MAX_URL_CHARS)
    title: str | None = Field(default=None, max_length=500)

    @field_validator("url", "title")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        # Kept in the job's JSON payload: PostgreSQL takes neither NUL nor broken Unicode.
        if value is None:
            return None
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("must be valid Unicode text") from exc
        return value


class UrlImportOut(BaseModel):
    job_id: UUID
    url: str
    status: str


@router.post("", status_code=202)
async def import_url(body: UrlImportIn, ctx: AuthCtx) -> UrlImportOut:
    """Import a web page (HTML, Markdown or text) as a draft document. Private, loopback,
    link-local and metadata addresses are refused (also behind redirects and DNS names);
    `GET /api/jobs/{job_id}` shows progress, the document or the URL_* error."""
    job = await service.do_start_url_import(
        ctx.conn,
        settings=ctx.state.settings,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        url=body.url,
        title=body.title,
    )
    return UrlImportOut(job_id=job.id, url=job.payload["url"], status=job.status)
