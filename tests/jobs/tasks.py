"""Job kinds used only by the tests, on their own queue so a test worker runs nothing else.

Workers started as subprocesses load this module through TYNEBASE_JOB_TASK_MODULES.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
import sqlalchemy as sa

from tynebase.jobs.registry import JobContext, JobFailed, job_task

QUEUE = "tests"
GATE_TIMEOUT = 60.0


async def add_document(ctx: JobContext, title: str) -> UUID:
    """A real effect in the tenant, written in the job's own transaction."""
    row = await ctx.conn.execute(
        sa.text("INSERT INTO documents (tenant_id, title) VALUES (:tenant, :title) RETURNING id"),
        {"tenant": ctx.tenant_id, "title": title},
    )
    document_id: UUID = row.scalar_one()
    return document_id


async def wait_for(path: Path) -> None:
    deadline = time.monotonic() + GATE_TIMEOUT
    while not await anyio.Path(path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate {path} never opened")
        await asyncio.sleep(0.05)


@job_task("tests.gated", queue=QUEUE)
async def gated(ctx: JobContext) -> dict[str, Any]:
    """Writes its document, reports 50 %, then waits for the test to open the gate: a crash
    while it waits must take the (uncommitted) document back with it."""
    document_id = await add_document(ctx, ctx.payload["title"])
    await ctx.report(50, "halfway")
    await wait_for(Path(ctx.payload["gate"]))
    return {"document_id": str(document_id), "attempt": ctx.attempt}


@job_task("tests.flaky", queue=QUEUE, max_attempts=4)
async def flaky(ctx: JobContext) -> dict[str, Any]:
    """Fails with a transient error until attempt `succeed_on`; each try writes a document
    first, which the failure rolls back."""
    document_id = await add_document(ctx, ctx.payload["title"])
    if ctx.attempt < ctx.payload["succeed_on"]:
        raise ConnectionError(f"transient failure on attempt {ctx.attempt}")
    return {"document_id": str(document_id), "attempt": ctx.attempt}


@job_task("tests.broken", queue=QUEUE, max_attempts=2)
async def broken(ctx: JobContext) -> dict[str, Any]:
    """Fails (retryably) until the file `fixed` exists: a dead letter until someone fixes it."""
    if not await anyio.Path(ctx.payload["fixed"]).exists():
        raise RuntimeError("the dependency is down")
    return {"fixed": True}


@job_task("tests.rejects", queue=QUEUE)
async def rejects(ctx: JobContext) -> dict[str, Any]:
    """A deliberate, permanent failure: never retried."""
    raise JobFailed("This input cannot be processed", code="TEST_BAD_INPUT")


@job_task("tests.rejects_plainly", queue=QUEUE)
async def rejects_plainly(ctx: JobContext) -> dict[str, Any]:
    """A permanent failure without a code of its own: the generic JOB_FAILED."""
    raise JobFailed("Nothing more to say")


@job_task("tests.returns_a_list", queue=QUEUE)
async def returns_a_list(ctx: JobContext) -> Any:
    """A handler breaking its contract (results are JSON objects): JOB_BAD_RESULT, not retried,
    and its writes are rolled back."""
    await add_document(ctx, ctx.payload["title"])
    return ["not", "a", "dict"]
