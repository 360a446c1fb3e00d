"""Import routes: POST /api/imports (a new upload, or a stored file by id) → a job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.api.deps import authenticated_unit_of_work, bearer
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.auth.principal import Principal
from tynebase.errors import ValidationFailed
from tynebase.files import service as files_service
from tynebase.files.api import UPLOAD_BODY, UPLOAD_ERRORS
from tynebase.files.intake import accept_upload
from tynebase.files.repo import StoredFile
from tynebase.imports import service
from tynebase.imports.schemas import ImportIn, ImportOut
from tynebase.tenants.repo import Tenant

router = APIRouter(prefix="/api/imports", tags=["imports"], responses=COMMON_ERRORS)

MAX_JSON_BYTES = 64 * 1024
_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ImportIn.model_json_schema()},
            **UPLOAD_BODY["requestBody"]["content"],
        },
    }
}


async def _json_body(request: Request) -> ImportIn:
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BYTES:
            raise ValidationFailed("The request body is too large")
    try:
        return ImportIn.model_validate_json(bytes(raw))
    except ValidationError as exc:
        fields = [
            {"loc": [str(p) for p in err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_input=False)
        ]
        raise ValidationFailed("The request is not valid", details={"fields": fields}) from exc


@router.post("", status_code=202, openapi_extra=_BODY, responses=UPLOAD_ERRORS)
async def start_import(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    filename: Annotated[str | None, Query(max_length=1000)] = None,
    title: Annotated[str | None, Query(max_length=500)] = None,
) -> ImportOut:
    """Import PDF, DOCX, HTML, Markdown or plain text as a draft document. Send the file
    (multipart part `file`, or the raw body), or JSON `{"file_id": ...}` for a stored file.
    Answers at once with the job; `GET /api/jobs/{job_id}` shows its progress and result."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json":
        async with authenticated_unit_of_work(request, credentials) as ctx:
            body = await _json_body(request)
            file = await files_service.access_file(
                ctx.conn, principal=ctx.principal, file_id=body.file_id
            )
            job, fmt = await service.do_start_import(
                ctx.conn,
                principal=ctx.principal,
                tenant_id=ctx.tenant.id,
                file=file,
                title=body.title or title,
            )
        return ImportOut(job_id=job.id, file_id=file.id, format=fmt, status=job.status)

    async def queue(
        conn: AsyncConnection, file: StoredFile, tenant: Tenant, principal: Principal
    ) -> Any:
        # In the transaction that records the file: a file that cannot be imported is not kept.
        return await service.do_start_import(
            conn, principal=principal, tenant_id=tenant.id, file=file, title=title
        )

    uploaded, (job, fmt) = await accept_upload(
        request, credentials, filename=filename, document_id=None, after_record=queue
    )
    return ImportOut(job_id=job.id, file_id=uploaded.file.id, format=fmt, status=job.status)
