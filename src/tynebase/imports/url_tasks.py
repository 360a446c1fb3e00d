"""Job handler of URL imports (listed in `tynebase.jobs.registry.TASK_MODULES`)."""

from __future__ import annotations

from typing import Any

from tynebase.imports import url
from tynebase.jobs.registry import JobContext, job_task


# A refused or failed fetch fails the job at once with its URL_* code (no retry: the page or
# the rules will not change in a few seconds); a crashed worker's attempt is retried.
@job_task(url.URL_IMPORT_KIND, max_attempts=3)
async def import_url(ctx: JobContext) -> dict[str, Any]:
    return await url.run_url_import(ctx)
