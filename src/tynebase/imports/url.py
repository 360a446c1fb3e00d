"""URL imports (FILE-4): a web page becomes a draft Markdown document, in a job.

`do_start_url_import` checks the URL's form (scheme, syntax, a forbidden IP literal) in the
request and queues the job; `run_url_import` fetches the page through the SSRF-safe fetcher
(`tynebase.net.fetch`: every address and redirect hop vetted, connections to the vetted address
only, size/total/idle limits), converts it with the file import converter and creates the draft
in the job's transaction, so a retried job never makes two documents.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from uuid import UUID

import anyio.to_thread
import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.documents import service as documents_service
from tynebase.files.sniff import HEAD_BYTES, sniff_head
from tynebase.imports.convert import convert, decode_text
from tynebase.jobs import service as jobs_service
from tynebase.jobs.acting import access_acting_principal
from tynebase.jobs.registry import JobContext
from tynebase.jobs.repo import Job
from tynebase.net.addresses import parse_networks
from tynebase.net.errors import UrlUnsupportedContent
from tynebase.net.fetch import TEXT_TYPES, Fetched, FetchPolicy, Resolver, check_literal, check_url
from tynebase.net.fetch import fetch_url as _fetch_url
from tynebase.settings import Settings

URL_IMPORT_KIND = "imports.url"


async def do_start_url_import(
    conn: AsyncConnection,
    *,
    settings: Settings,
    principal: Principal,
    tenant_id: UUID,
    url: str,
    title: str | None,
) -> Job:
    """Queue the import of the page at `url`: 400 URL_INVALID / URL_BAD_SCHEME /
    URL_FORBIDDEN_ADDRESS for what can be refused without fetching."""
    principal.check_role("contributor")
    parsed = check_url(url.strip())
    check_literal(parsed, allowed=parse_networks(settings.url_fetch_allowed_networks))
    if title is not None:
        documents_service.check_content(title=title, body=None)
    return await jobs_service.do_enqueue(
        conn,
        tenant_id=tenant_id,
        kind=URL_IMPORT_KIND,
        payload={"url": str(parsed), "title": title, "role": principal.role},
        created_by=principal.user_id,
    )


def _name_of(url: str) -> str:
    """A file-like name for the converter's title fallback: the last path segment or host."""
    parsed = httpx.URL(url)
    stem = PurePosixPath(parsed.path).name
    return stem or parsed.host or "page"


def page_format(page: Fetched) -> str:
    """The converter format of a fetched page (its declared type, else sniffed)."""
    fmt = TEXT_TYPES.get(page.content_type)
    if fmt is not None:
        return fmt
    sniffed = sniff_head(page.body[:HEAD_BYTES], _name_of(page.final_url)).content_type
    fmt = TEXT_TYPES.get(sniffed or "")
    if fmt is None:
        raise UrlUnsupportedContent(
            "The page is not HTML, Markdown or text",
            details={"content_type": sniffed or "unknown", "allowed": sorted(TEXT_TYPES)},
        )
    return fmt


def page_text(page: Fetched) -> bytes:
    """The body as UTF-8 (the declared charset first; the converter then reads UTF-8)."""
    if page.charset:
        try:
            return page.body.decode(page.charset).encode()
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(page.body).encode()


async def run_url_import(ctx: JobContext, *, resolver: Resolver | None = None) -> dict[str, Any]:
    """The job: fetch, convert, create the draft with an `imported` lineage entry."""
    url = str(ctx.payload["url"])
    principal = await access_acting_principal(ctx, gone_code="IMPORT_USER_GONE")
    await ctx.report(10, f"fetching {httpx.URL(url).host}")
    page = await _fetch_url(url, policy=FetchPolicy.from_settings(ctx.settings), resolver=resolver)
    fmt = page_format(page)
    await ctx.report(60, f"converting {fmt} to Markdown")
    data, name = page_text(page), _name_of(page.final_url)
    converted = await anyio.to_thread.run_sync(lambda: convert(data, fmt=fmt, filename=name))
    await ctx.report(85, "creating the document")
    document = await documents_service.do_create(
        ctx.conn,
        principal=principal,
        tenant_id=ctx.tenant_id,
        title=ctx.payload.get("title") or converted.title,
        body=converted.markdown,
        version_reason="import",
        lineage_event="imported",
        lineage_details={
            "url": url,
            "final_url": page.final_url,
            "redirects": page.redirects,
            "content_type": page.content_type,
            "bytes": len(page.body),
            "format": fmt,
        },
    )
    return {
        "document_id": str(document.id),
        "title": document.title,
        "url": url,
        "final_url": page.final_url,
        "format": fmt,
    }
