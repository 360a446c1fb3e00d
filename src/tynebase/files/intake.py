"""The upload flow shared by the entry points that accept files (/api/files, /api/imports).

It owns its transactions, so that no database connection is held while the bytes stream in:

1. authenticate and pre-check (role, document, announced size vs quota) in a short unit of work;
2. stream the body into a staged local file (sniff, count, hash; refuse early);
3. publish the blob under `tenants/<tenant_id>/files/<file_id>` (atomic in both backends);
4. in a second unit of work: lock the tenant's usage, check the quota again, insert the row.

If 4 fails (quota, database), the blob of 3 is removed again; if 2 or 3 fail, nothing was
published. So a committed row always has its blob, and a refused upload leaves neither.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import anyio
from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.api.deps import authenticated_unit_of_work
from tynebase.api.state import AppState
from tynebase.auth.principal import Principal
from tynebase.files import service
from tynebase.files.repo import StoredFile
from tynebase.files.storage import BlobStore, open_blob_store, staged_file, tenant_key
from tynebase.files.upload import receive_upload
from tynebase.tenants.repo import Tenant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Uploaded:
    file: StoredFile
    tenant: Tenant
    principal: Principal
    state: AppState


# Extra work in the recording transaction (e.g. enqueueing an import job).
AfterRecord = Callable[[AsyncConnection, StoredFile, Tenant, Principal], Any]


def blob_key(tenant_id: UUID, file_id: UUID) -> str:
    return tenant_key(tenant_id, "files", str(file_id))


async def remove_blob(store: BlobStore, key: str) -> None:
    """Best effort: a blob that cannot be removed now is an orphan (no row points to it)."""
    try:
        await store.delete(key)
    except Exception:
        log.exception("could not remove blob %s", key)


async def accept_upload(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    *,
    filename: str | None,
    document_id: UUID | None,
    after_record: AfterRecord | None = None,
) -> tuple[Uploaded, Any]:
    """Authenticate, stream, publish and record one uploaded file (see the module doc)."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    raw_length = headers.get("content-length", "")
    multipart = headers.get("content-type", "").lower().startswith("multipart/")
    declared = int(raw_length) if raw_length.isdigit() and not multipart else None
    async with authenticated_unit_of_work(request, credentials) as ctx:
        state, tenant, principal = ctx.state, ctx.tenant, ctx.principal
        await service.check_upload(
            ctx.conn,
            settings=state.settings,
            principal=principal,
            tenant=tenant,
            document_id=document_id,
            declared_size=declared,
        )
    store = open_blob_store(state.settings)
    file_id = uuid.uuid4()
    key = blob_key(tenant.id, file_id)
    with staged_file(store) as path:
        staged = await receive_upload(
            request.stream(),
            headers=headers,
            filename=filename,
            limits=service.size_limits(state.settings),
            path=path,
        )
        try:
            await store.put_file(key, path)
            async with state.db.unit_of_work(tenant.id) as conn:
                stored = await service.do_record(
                    conn,
                    settings=state.settings,
                    tenant=tenant,
                    principal=principal,
                    file_id=file_id,
                    storage_key=key,
                    staged=staged,
                    document_id=document_id,
                )
                extra = (
                    await after_record(conn, stored, tenant, principal) if after_record else None
                )
        except BaseException:
            # Whatever failed (publishing, the quota, the insert, the commit, a cancellation),
            # no row points to the blob: remove it, even while being cancelled.
            with anyio.CancelScope(shield=True):
                await remove_blob(store, key)
            raise
    return Uploaded(file=stored, tenant=tenant, principal=principal, state=state), extra
