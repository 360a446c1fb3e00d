"""File rules: who may read, upload and delete; size limits by kind; storage quota by tier."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.auth.principal import Principal
from tynebase.documents import access as document_access
from tynebase.documents import service as documents_service
from tynebase.errors import Forbidden, NotFound
from tynebase.files import repo, signing
from tynebase.files.errors import StorageQuotaExceeded
from tynebase.files.repo import StoredFile
from tynebase.files.upload import StagedUpload
from tynebase.settings import Settings
from tynebase.tenants.repo import Tenant


def size_limits(settings: Settings) -> dict[str, int]:
    """The largest file of each kind, in bytes."""
    return {
        "image": int(settings.file_max_image_bytes),
        "document": int(settings.file_max_document_bytes),
        "audio": int(settings.file_max_audio_bytes),
        "video": int(settings.file_max_video_bytes),
    }


def quota_for(settings: Settings, tier: str) -> int | None:
    """The tier's storage quota in bytes; None is unlimited."""
    quota = {
        "free": settings.storage_quota_free_bytes,
        "base": settings.storage_quota_base_bytes,
        "pro": settings.storage_quota_pro_bytes,
        "enterprise": settings.storage_quota_enterprise_bytes,
    }.get(tier, settings.storage_quota_free_bytes)
    return None if quota is None else int(quota)


def can_read(principal: Principal, file: StoredFile) -> bool:
    """Python form of `repo.readable_clause` (keep the two in step)."""
    if file.created_by == principal.user_id:
        return True
    if file.document_id is None:
        return principal.has_role("editor")
    return document_access.can_read(
        principal,
        author_id=file.document_author_id,
        status=file.document_status or "",
        visibility=file.document_visibility or "",
    )


async def access_file(conn: AsyncConnection, *, principal: Principal, file_id: UUID) -> StoredFile:
    """The file if the caller may read it; the same 404 whether missing or not theirs."""
    file = await repo.get(conn, file_id)
    if file is None or not can_read(principal, file):
        raise NotFound("File not found", code="FILE_NOT_FOUND")
    return file


async def check_quota(
    conn: AsyncConnection, *, settings: Settings, tenant: Tenant, adding: int
) -> None:
    """Refuse when the tenant's files plus `adding` bytes would pass the tier's quota."""
    limit = quota_for(settings, tenant.tier)
    if limit is None:
        return
    used = await repo.used_bytes(conn)
    if used + adding > limit:
        raise StorageQuotaExceeded(
            "This workspace has no storage left for this file",
            details={"limit": limit, "used": used, "requested": adding, "tier": tenant.tier},
        )


async def check_upload(
    conn: AsyncConnection,
    *,
    settings: Settings,
    principal: Principal,
    tenant: Tenant,
    document_id: UUID | None,
    declared_size: int | None,
) -> None:
    """Before any byte is read: the role, the document it attaches to, and (when the size is
    announced) the quota."""
    principal.check_role("contributor")
    if document_id is not None:
        document = await documents_service.access_document(
            conn, principal=principal, document_id=document_id
        )
        document_access.check_edit(principal, **document.rights)
    await check_quota(conn, settings=settings, tenant=tenant, adding=declared_size or 1)


async def do_record(
    conn: AsyncConnection,
    *,
    settings: Settings,
    tenant: Tenant,
    principal: Principal,
    file_id: UUID,
    storage_key: str,
    staged: StagedUpload,
    document_id: UUID | None,
) -> StoredFile:
    """Record an uploaded (already stored) blob, if the quota still allows it.

    The per-tenant lock makes check-then-insert atomic: two concurrent uploads cannot both
    fit into the last free bytes.
    """
    await repo.lock_usage(conn, tenant.id)
    await check_quota(conn, settings=settings, tenant=tenant, adding=staged.size)
    return await repo.insert(
        conn,
        id=file_id,
        tenant_id=tenant.id,
        storage_key=storage_key,
        filename=staged.filename,
        content_type=staged.content_type,
        kind=staged.kind,
        size_bytes=staged.size,
        sha256=staged.sha256,
        created_by=principal.user_id,
        document_id=document_id,
    )


async def do_delete(conn: AsyncConnection, *, principal: Principal, file_id: UUID) -> StoredFile:
    """Delete the row (the caller removes the blob after commit). The uploader or an editor."""
    file = await access_file(conn, principal=principal, file_id=file_id)
    if file.created_by != principal.user_id and not principal.has_role("editor"):
        raise Forbidden(
            "Only the uploader or an editor may delete this file",
            code="NOT_FILE_OWNER",
            details={"role": principal.role},
        )
    await repo.delete(conn, file_id)
    return file


def download_url(
    settings: Settings, *, tenant_id: UUID, file_id: UUID, now: datetime | None = None
) -> tuple[str, datetime]:
    """A signed, expiring download path for the file and when it expires."""
    now = now or datetime.now(UTC)
    expires = int(now.timestamp()) + settings.file_url_ttl_seconds
    path = signing.signed_path(settings, tenant_id=tenant_id, file_id=file_id, expires=expires)
    return path, datetime.fromtimestamp(expires, UTC)
