"""Job handlers of retrieval (listed in `tynebase.jobs.registry.TASK_MODULES`)."""

from __future__ import annotations

from typing import Any

from tynebase.jobs.registry import JobContext, job_task
from tynebase.rag import indexing


@job_task(indexing.INDEX_KIND, max_attempts=3)
async def index_document(ctx: JobContext) -> dict[str, Any]:
    return await indexing.run_index(ctx)


@job_task(indexing.REINDEX_ALL_KIND, max_attempts=3)
async def reindex_all(ctx: JobContext) -> dict[str, Any]:
    return await indexing.run_reindex_all(ctx)
