"""Job handlers of the imports feature (listed in `tynebase.jobs.registry.TASK_MODULES`)."""

from __future__ import annotations

from typing import Any

from tynebase.imports import service
from tynebase.jobs.registry import JobContext, job_task


@job_task(service.IMPORT_KIND, max_attempts=3)
async def import_document(ctx: JobContext) -> dict[str, Any]:
    return await service.run_import(ctx)
