"""Job kinds and their handlers: the interface features use to run work in the background.

A feature registers a handler for a kind, in a module listed in `TASK_MODULES`::

    from tynebase.jobs.registry import JobContext, JobFailed, job_task

    @job_task("files.import", max_attempts=3)
    async def import_file(ctx: JobContext) -> dict[str, Any]:
        await ctx.report(10, "reading the file")  # committed at once: GET /api/jobs/{id} shows it
        if not supported:
            raise JobFailed("Cannot read this file", code="IMPORT_UNREADABLE")  # no retry
        doc = await documents_service.do_create(ctx.conn, ...)  # the job's own transaction
        return {"document_id": str(doc.id)}  # stored as the job's result

and queues it from a request, in the request's transaction (so a rolled-back request leaves no
job, and a committed one always has it)::

    job = await jobs_service.do_enqueue(
        ctx.conn, tenant_id=ctx.tenant.id, kind="files.import",
        payload={"file_id": str(file_id)}, created_by=ctx.principal.user_id,
    )

The handler runs in `ctx.conn`, a transaction with RLS set to the job's tenant. The job's result
and its `succeeded` status are written in that same transaction, so its effects and "done" commit
together: a retry after a crash finds either nothing done or the job finished, and never repeats
effects. Effects outside the database (blobs, mail) must be idempotent on their own.
Any other exception is retried with exponential backoff, up to `max_attempts` runs in all
(default TYNEBASE_JOB_MAX_ATTEMPTS); a TynebaseError (such as `JobFailed`) fails the job at once,
except `RetryLater`, which asks for a retry.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.db.engine import Database
from tynebase.errors import TynebaseError
from tynebase.settings import Settings

# Modules that define job tasks. They are imported on first use (a worker starting, a job being
# queued), never when this module is imported. Add yours here; a deployment can add more with
# TYNEBASE_JOB_TASK_MODULES.
TASK_MODULES: tuple[str, ...] = (
    "tynebase.imports.tasks",
    "tynebase.rag.tasks",
    "tynebase.imports.url_tasks",
    "tynebase.ai.generation_tasks",
)

KIND_PATTERN = r"[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*"
MAX_KIND_LENGTH = 100  # procrastinate's task names are varchar(128)
ERROR_MESSAGE_LENGTH = 500

JobResult = dict[str, Any]
Handler = Callable[["JobContext"], Awaitable[JobResult]]


class JobFailed(TynebaseError):
    """Raise from a handler to fail the job at once, without retries, with a stable code."""

    code = "JOB_FAILED"


class RetryLater(TynebaseError):
    """Raise from a handler for a transient failure: the job is retried with backoff."""

    code = "JOB_RETRY"


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the job, its tenant's transaction and a progress reporter."""

    db: Database
    conn: AsyncConnection  # the job's transaction, tenant set; commits with the job's result
    settings: Settings
    tenant_id: UUID
    job_id: UUID
    kind: str
    payload: dict[str, Any]
    attempt: int  # how many times the job has started, this run included (1 the first time)
    max_attempts: int  # runs allowed before it fails for good (a manual retry grants as many)
    created_by: UUID | None
    reporter: Callable[[int, str], Awaitable[None]] = field(repr=False)

    async def report(self, percent: int, message: str = "") -> None:
        """Record progress (0-100) and a short message; committed at once, in its own
        transaction, so callers polling the job see it while the job's own work is pending."""
        await self.reporter(percent, message)


@dataclass(frozen=True)
class JobSpec:
    kind: str
    handler: Handler
    queue: str = "default"
    max_attempts: int | None = None  # None: TYNEBASE_JOB_MAX_ATTEMPTS
    priority: int = 0

    @property
    def origin(self) -> str:
        return f"{self.handler.__module__}.{self.handler.__qualname__}"


_specs: dict[str, JobSpec] = {}


def job_task(
    kind: str, *, queue: str = "default", max_attempts: int | None = None, priority: int = 0
) -> Callable[[Handler], Handler]:
    """Register `async def handler(ctx: JobContext) -> dict` as the handler of `kind`."""
    if len(kind) > MAX_KIND_LENGTH or not re.fullmatch(KIND_PATTERN, kind):
        raise ValueError(f"job kind {kind!r} must match {KIND_PATTERN} (at most 100 chars)")
    if max_attempts is not None and max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")

    def register(handler: Handler) -> Handler:
        spec = JobSpec(kind, handler, queue=queue, max_attempts=max_attempts, priority=priority)
        known = _specs.get(kind)
        if known is not None and known.origin != spec.origin:
            raise ValueError(f"job kind {kind!r} is already handled by {known.origin}")
        _specs[kind] = spec
        return handler

    return register


def load_task_modules(extra: Iterable[str] = ()) -> None:
    """Import the modules that register handlers (idempotent)."""
    for module in (*TASK_MODULES, *extra):
        importlib.import_module(module)


def get_spec(kind: str) -> JobSpec | None:
    if kind not in _specs:
        load_task_modules()
    return _specs.get(kind)


def require_spec(kind: str) -> JobSpec:
    spec = get_spec(kind)
    if spec is None:
        # A programming error (the kinds are ours), not a user's: fail loudly.
        raise LookupError(f"no handler for job kind {kind!r}: is its module in TASK_MODULES?")
    return spec


def specs() -> list[JobSpec]:
    return sorted(_specs.values(), key=lambda s: s.kind)


def is_retryable(exc: BaseException) -> bool:
    """Transient until proven otherwise: our own errors are deliberate verdicts (bad input,
    not found, forbidden) that a retry cannot change, unless they say `RetryLater`."""
    if isinstance(exc, RetryLater):
        return True
    return not isinstance(exc, TynebaseError)


def error_of(exc: BaseException) -> dict[str, str]:
    """The `{code, message}` recorded on the job (and shown to the tenant)."""
    if isinstance(exc, TynebaseError):
        code, message = exc.code, exc.message
    else:
        code, message = "JOB_ERROR", f"{type(exc).__name__}: {exc}".rstrip(": ")
    return {"code": code, "message": message[:ERROR_MESSAGE_LENGTH]}
