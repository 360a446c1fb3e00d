"""Blob store and files table, compared (for `tynebase files check`).

Uploads publish the blob before recording its row and deletions remove the blob after the
commit, so a crash at the wrong moment can leave a blob without a row (an orphan, harmless but
billed by the store), never a row without its blob. This finds both; orphans older than a grace
period (so uploads in flight are left alone) can be removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.files import repo
from tynebase.files.storage import BlobStore, tenant_key


@dataclass
class StorageCheck:
    tenant_id: UUID
    files: int = 0
    blobs: int = 0
    # Rows whose blob is gone: data loss, to investigate (restore the blob from a backup).
    missing: list[str] = field(default_factory=list)
    # Blobs without a row, older than the grace period: safe to remove.
    orphans: list[str] = field(default_factory=list)
    orphan_bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.missing and not self.orphans


async def check_tenant(
    conn: AsyncConnection, store: BlobStore, *, tenant_id: UUID, now: datetime, grace: timedelta
) -> StorageCheck:
    """Compare the tenant's rows (`conn` is in the tenant) with its blobs."""
    keys = await repo.storage_keys(conn)
    blobs = await store.list_blobs(tenant_key(tenant_id, "files") + "/")
    stored = {blob.key for blob in blobs}
    report = StorageCheck(tenant_id=tenant_id, files=len(keys), blobs=len(blobs))
    report.missing = sorted(keys - stored)
    for blob in blobs:
        if blob.key not in keys and now - blob.modified > grace:
            report.orphans.append(blob.key)
            report.orphan_bytes += blob.size
    return report


async def do_remove_orphans(conn: AsyncConnection, store: BlobStore, report: StorageCheck) -> int:
    """Remove the report's orphans that still have no row (read again, in `conn`)."""
    keys = await repo.storage_keys(conn)
    removed = 0
    for key in report.orphans:
        if key not in keys:
            await store.delete(key)
            removed += 1
    return removed
