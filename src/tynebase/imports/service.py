"""Imports (FILE-3): a stored file becomes a draft Markdown document, in a job.

`do_start_import` queues the job in the caller's transaction; `run_import` is the job's body.
The document (with its "import" version and "imported" lineage entry) is created in the job's
own transaction, which also records the job as succeeded: a job retried after a crash either
finds nothing done or the job finished, and never creates a second document.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.documents import service as documents_service
from tynebase.files import repo as files_repo
from tynebase.files.errors import UnsupportedFileType
from tynebase.files.repo import StoredFile
from tynebase.files.storage import BlobNotFound, open_blob_store
from tynebase.imports.convert import FORMATS, convert, format_of
from tynebase.jobs import service as jobs_service
from tynebase.jobs.acting import access_acting_principal
from tynebase.jobs.registry import JobContext, JobFailed
from tynebase.jobs.repo import Job

IMPORT_KIND = "imports.document"


def check_importable(file: StoredFile) -> str:
    """The import format of the file, or 415."""
    fmt = format_of(file.content_type)
    if fmt is None:
        raise UnsupportedFileType(
            f"Files of type {file.content_type} cannot be imported as documents",
            code="UNSUPPORTED_IMPORT_FORMAT",
            details={"content_type": file.content_type, "formats": list(FORMATS)},
        )
    return fmt


async def do_start_import(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    file: StoredFile,
    title: str | None,
) -> tuple[Job, str]:
    """Queue the import of `file` (which the caller may read); returns the job and format."""
    principal.check_role("contributor")
    fmt = check_importable(file)
    if title is not None:
        documents_service.check_content(title=title, body=None)
    job = await jobs_service.do_enqueue(
        conn,
        tenant_id=tenant_id,
        kind=IMPORT_KIND,
        # The role the request acted with (an API key's scope may cap it): the job never
        # acts with more.
        payload={"file_id": str(file.id), "format": fmt, "title": title, "role": principal.role},
        created_by=principal.user_id,
    )
    return job, fmt


async def _read_blob(ctx: JobContext, key: str) -> bytes:
    chunks = bytearray()
    try:
        async for chunk in open_blob_store(ctx.settings).read(key):
            chunks += chunk
    except BlobNotFound as exc:
        raise JobFailed("The file to import is missing", code="FILE_NOT_FOUND") from exc
    return bytes(chunks)


async def run_import(ctx: JobContext) -> dict[str, Any]:
    """The job: read the file, convert it, create the draft and attach the file to it."""
    file_id = UUID(ctx.payload["file_id"])
    file = await files_repo.get(ctx.conn, file_id)
    if file is None:
        raise JobFailed("The file to import was deleted", code="FILE_NOT_FOUND")
    principal = await access_acting_principal(ctx, gone_code="IMPORT_USER_GONE")
    fmt = check_importable(file)
    await ctx.report(10, "reading the file")
    data = await _read_blob(ctx, file.storage_key)
    await ctx.report(40, f"converting {fmt} to Markdown")
    converted = await anyio.to_thread.run_sync(
        lambda: convert(data, fmt=fmt, filename=file.filename)
    )
    await ctx.report(80, "creating the document")
    document = await documents_service.do_create(
        ctx.conn,
        principal=principal,
        tenant_id=ctx.tenant_id,
        title=ctx.payload.get("title") or converted.title,
        body=converted.markdown,
        version_reason="import",
        lineage_event="imported",
        lineage_details={"file": str(file.id), "format": fmt, "filename": file.filename},
    )
    await files_repo.set_document(ctx.conn, file.id, document.id)
    return {
        "document_id": str(document.id),
        "file_id": str(file.id),
        "format": fmt,
        "title": document.title,
    }
