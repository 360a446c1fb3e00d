from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from tynebase.jobs.repo import Job

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobErrorOut(BaseModel):
    code: str
    message: str


class JobOut(BaseModel):
    id: UUID
    kind: str
    status: JobStatus
    progress: int  # 0-100, as reported by the running attempt
    message: str
    payload: dict[str, Any]
    result: dict[str, Any] | None
    error: JobErrorOut | None  # the last failure (kept while a retry is queued)
    attempts: int
    dead_letter: bool  # failed after its last attempt: only a retry runs it again
    created_by: UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,  # the table's CHECK keeps it within JobStatus
            progress=job.progress,
            message=job.message,
            payload=job.payload,
            result=job.result,
            error=JobErrorOut.model_validate(job.error) if job.error else None,
            attempts=job.attempts,
            dead_letter=job.dead_letter,
            created_by=job.created_by,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            updated_at=job.updated_at,
        )
