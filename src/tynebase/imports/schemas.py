from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class ImportIn(BaseModel):
    """Import a file that is already stored (POST /api/files)."""

    model_config = ConfigDict(extra="forbid")

    file_id: UUID
    title: str | None = Field(default=None, max_length=500)


class ImportOut(BaseModel):
    job_id: UUID
    file_id: UUID
    format: str
    status: str
