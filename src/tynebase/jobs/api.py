"""Job routes: /api/jobs (status with real progress, list, retry of dead letters)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.jobs import registry, service
from tynebase.jobs.registry import KIND_PATTERN, MAX_KIND_LENGTH
from tynebase.jobs.schemas import JobOut, JobStatus

router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=COMMON_ERRORS)


@router.get("")
async def list_jobs(
    ctx: AuthCtx,
    status: JobStatus | None = None,
    kind: Annotated[
        str | None, Query(max_length=MAX_KIND_LENGTH, pattern=f"^{KIND_PATTERN}$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[JobOut]:
    """Newest first: your jobs; admins see every job of the workspace."""
    jobs = await service.list_jobs(
        ctx.conn, principal=ctx.principal, status=status, kind=kind, limit=limit
    )
    return [JobOut.of(job) for job in jobs]


@router.get("/{job_id}")
async def get_job(job_id: UUID, ctx: AuthCtx) -> JobOut:
    return JobOut.of(await service.access_job(ctx.conn, principal=ctx.principal, job_id=job_id))


@router.post("/{job_id}/retry", status_code=202)
async def retry_job(job_id: UUID, ctx: AuthCtx) -> JobOut:
    """Queue a failed job again (admins)."""
    # Kinds a deployment adds (TYNEBASE_JOB_TASK_MODULES) must be known to queue them.
    registry.load_task_modules(ctx.state.settings.job_task_modules)
    return JobOut.of(await service.do_retry(ctx.conn, principal=ctx.principal, job_id=job_id))
