"""File routes: /api/files (upload, list, metadata, delete, signed URLs, download)."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials

from tynebase.api.deps import AuthCtx, TenantCtx, bearer
from tynebase.api.schemas import COMMON_ERRORS, error_responses
from tynebase.errors import NotFound, ValidationFailed
from tynebase.files import repo, service, signing
from tynebase.files.intake import accept_upload, remove_blob
from tynebase.files.repo import StoredFile
from tynebase.files.schemas import FileOut, FilePage, FileUrlOut, StorageUsageOut
from tynebase.files.storage import BlobNotFound, open_blob_store

router = APIRouter(prefix="/api/files", tags=["files"], responses=COMMON_ERRORS)

UPLOAD_ERRORS = error_responses(413, 415, 507)
# The upload body is read as a stream by the endpoint (never parsed up front), so it is
# described here for the API docs.
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
FilenameQuery = Annotated[
    str | None,
    Query(max_length=1000, description="File name for a raw body (multipart carries its own)"),
]


def file_out(file: StoredFile) -> FileOut:
    return FileOut(
        id=file.id,
        filename=file.filename,
        content_type=file.content_type,
        kind=file.kind,
        size_bytes=file.size_bytes,
        sha256=file.sha256,
        created_by=file.created_by,
        document_id=file.document_id,
        created_at=file.created_at,
    )


def _encode_cursor(file: StoredFile) -> str:
    raw = f"{file.created_at.isoformat()}|{file.id}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        created, file_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(created), UUID(file_id)
    except ValueError as exc:
        raise ValidationFailed("This cursor is not valid", code="INVALID_CURSOR") from exc


@router.post("", status_code=201, openapi_extra=UPLOAD_BODY, responses=UPLOAD_ERRORS)
async def upload_file(
    request: Request,
    credentials: Credentials,
    filename: FilenameQuery = None,
    document_id: Annotated[UUID | None, Query(description="Attach to this document")] = None,
) -> FileOut:
    """Upload one file, as `multipart/form-data` (part `file`) or as the raw body. Its type is
    sniffed from the bytes; limits per kind and the workspace's quota apply."""
    uploaded, _ = await accept_upload(
        request, credentials, filename=filename, document_id=document_id
    )
    return file_out(uploaded.file)


@router.get("")
async def list_files(
    ctx: AuthCtx,
    document_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> FilePage:
    """The files the caller may read, newest first."""
    items = await repo.list_readable(
        ctx.conn,
        principal=ctx.principal,
        limit=limit + 1,
        document_id=document_id,
        after=_decode_cursor(cursor) if cursor else None,
    )
    page, more = items[:limit], len(items) > limit
    return FilePage(
        items=[file_out(f) for f in page], next_cursor=_encode_cursor(page[-1]) if more else None
    )


@router.get("/usage")
async def storage_usage(ctx: AuthCtx) -> StorageUsageOut:
    """Bytes stored by the workspace and its tier's quota (null: unlimited)."""
    return StorageUsageOut(
        used_bytes=await repo.used_bytes(ctx.conn),
        limit_bytes=service.quota_for(ctx.state.settings, ctx.tenant.tier),
        tier=ctx.tenant.tier,
    )


@router.get("/{file_id}")
async def get_file(file_id: UUID, ctx: AuthCtx) -> FileOut:
    return file_out(await service.access_file(ctx.conn, principal=ctx.principal, file_id=file_id))


@router.delete("/{file_id}", status_code=204, response_class=Response)
async def delete_file(file_id: UUID, ctx: AuthCtx, background: BackgroundTasks) -> None:
    """Delete the file; its blob is removed once the deletion is committed."""
    file = await service.do_delete(ctx.conn, principal=ctx.principal, file_id=file_id)
    # Background tasks run after the response, i.e. after the commit: a rolled-back delete
    # never loses its blob.
    background.add_task(remove_blob, open_blob_store(ctx.state.settings), file.storage_key)


@router.get("/{file_id}/url")
async def file_url(file_id: UUID, ctx: AuthCtx) -> FileUrlOut:
    """A signed download URL that works without a token until `expires_at`."""
    file = await service.access_file(ctx.conn, principal=ctx.principal, file_id=file_id)
    url, expires_at = service.download_url(
        ctx.state.settings, tenant_id=ctx.tenant.id, file_id=file.id
    )
    return FileUrlOut(url=url, expires_at=expires_at)


def _disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "'")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


@router.get(
    "/{file_id}/download",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The file"},
        **error_responses(403, 410),
    },
)
async def download_file(
    file_id: UUID,
    ctx: TenantCtx,
    expires: Annotated[str | None, Query(max_length=20)] = None,
    sig: Annotated[str | None, Query(max_length=100)] = None,
) -> StreamingResponse:
    """The file's bytes, for a URL from `/api/files/{id}/url` (no token: the link is the
    credential, bound to this workspace and file, and it expires)."""
    settings = ctx.state.settings
    signing.check_signed(
        settings,
        tenant_id=ctx.tenant.id,
        file_id=file_id,
        expires=expires,
        sig=sig,
        now=time.time(),
    )
    file = await repo.get(ctx.conn, file_id)
    if file is None:
        raise NotFound("File not found", code="FILE_NOT_FOUND")
    chunks = open_blob_store(settings).read(file.storage_key)
    try:
        first = await anext(chunks)
    except (BlobNotFound, StopAsyncIteration) as exc:
        raise NotFound("File not found", code="FILE_NOT_FOUND") from exc

    async def body() -> AsyncIterator[bytes]:
        try:
            yield first
            async for chunk in chunks:
                yield chunk
        finally:  # also when the client goes away mid-download: close the file/stream now
            await chunks.aclose()

    return StreamingResponse(
        body(),
        media_type=file.content_type,
        headers={
            "Content-Length": str(file.size_bytes),
            "Content-Disposition": _disposition(file.filename),
            "X-Content-Type-Options": "nosniff",
            # Even if a browser renders it, a stored HTML file runs no script.
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "private, no-store",
        },
    )
