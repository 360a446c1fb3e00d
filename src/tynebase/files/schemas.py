from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel


class FileOut(BaseModel):
    id: UUID
    filename: str
    content_type: str
    kind: str
    size_bytes: int
    sha256: str
    created_by: UUID | None
    document_id: UUID | None
    created_at: datetime


class FilePage(BaseModel):
    items: list[FileOut]
    # Pass as `cursor` for the next page; null on the last page.
    next_cursor: str | None


class FileUrlOut(BaseModel):
    url: str
    expires_at: datetime


class StorageUsageOut(BaseModel):
    used_bytes: int
    limit_bytes: int | None
    tier: str
