"""`tynebase doctor` (OPS-5): automated diagnosis of the runbook's common issues.

A check is an async function that gets a `DoctorContext` and returns findings; each finding
names its severity (pass/warn/fail), what it saw (evidence), what to do, and the runbook section
(anchor in docs/RUNBOOK.md). The exit status is the worst finding: 0 pass, 1 warn, 2 fail.

Extension point: other features register checks with `@check(...)` in a module listed in
`CHECK_MODULES` (imported only if it exists), e.g. the collaboration server's and the AI
providers' own checks::

    from tynebase.ops.doctor import DoctorContext, Finding, check

    @check("collab", runbook="32-collaboration-websocket-failures")
    async def collab_live(ctx: DoctorContext) -> list[Finding]:
        ...
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import httpx
import psycopg

from tynebase.db.engine import DatabaseUrls, libpq_url
from tynebase.settings import Settings

CHECK_TIMEOUT_SECONDS = 15.0
CONNECT_TIMEOUT_SECONDS = 3
# Modules whose import registers checks; missing ones (features not installed) are skipped.
CHECK_MODULES = (
    "tynebase.ops.doctor_checks",
    "tynebase.ops.doctor_uploads",
    "tynebase.ops.doctor_services",
    "tynebase.collab.doctor",
    "tynebase.ai.doctor",
)


class Severity(IntEnum):
    PASS = 0
    WARN = 1
    FAIL = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Finding:
    check: str
    severity: Severity
    summary: str
    runbook: str  # anchor in docs/RUNBOOK.md, e.g. "33-database-degradation"
    action: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.severity.label,
            "summary": self.summary,
            "action": self.action,
            "runbook": f"docs/RUNBOOK.md#{self.runbook}",
            "evidence": self.evidence,
        }


@dataclass
class DoctorContext:
    settings: Settings
    urls: DatabaseUrls
    api_url: str
    collab_url: str | None = None
    slow_query_seconds: float = 5.0
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=5.0))
    _db_error: str | None = None

    async def connect(self) -> psycopg.AsyncConnection[Any]:
        """An owner connection (platform tables; tenant tables need a tenant set)."""
        return await psycopg.AsyncConnection.connect(
            libpq_url(self.urls.owner), connect_timeout=CONNECT_TIMEOUT_SECONDS, autocommit=True
        )

    async def database_ok(self) -> bool:
        """Whether the database answers (checked once; checks that need it skip otherwise)."""
        if self._db_error is None:
            try:
                conn = await self.connect()
                await conn.close()
                self._db_error = ""
            except psycopg.Error as exc:
                self._db_error = str(exc).strip().splitlines()[0] if str(exc).strip() else "error"
        return self._db_error == ""


@dataclass(frozen=True)
class Check:
    name: str
    runbook: str
    run: Callable[[DoctorContext], Awaitable[list[Finding]]]
    needs_database: bool = True


REGISTRY: dict[str, Check] = {}


def check(
    name: str, *, runbook: str, needs_database: bool = True
) -> Callable[[Callable[[DoctorContext], Awaitable[list[Finding]]]], Any]:
    """Register a check (see the module docstring)."""

    def register(
        fn: Callable[[DoctorContext], Awaitable[list[Finding]]],
    ) -> Callable[[DoctorContext], Awaitable[list[Finding]]]:
        REGISTRY[name] = Check(name=name, runbook=runbook, run=fn, needs_database=needs_database)
        return fn

    return register


def load_checks() -> dict[str, Check]:
    for module in CHECK_MODULES:
        if importlib.util.find_spec(module.rsplit(".", 1)[0]) is None:
            continue
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
    return REGISTRY


async def _run_one(ctx: DoctorContext, item: Check) -> list[Finding]:
    if item.needs_database and not await ctx.database_ok():
        return [
            Finding(
                item.name,
                Severity.WARN,
                "skipped: the database is unreachable",
                item.runbook,
            )
        ]
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return await item.run(ctx)
    except TimeoutError:
        return [Finding(item.name, Severity.FAIL, "the check timed out", item.runbook, evidence={})]
    except Exception as exc:  # a broken check is a finding, never a crash of the doctor
        return [
            Finding(
                item.name,
                Severity.FAIL,
                f"the check failed: {type(exc).__name__}: {str(exc)[:300]}",
                item.runbook,
            )
        ]


async def diagnose(ctx: DoctorContext, *, only: set[str] | None = None) -> list[Finding]:
    """Every registered check (or those in `only`), concurrently; findings in registry order."""
    checks = [c for name, c in load_checks().items() if only is None or name in only]
    try:
        results = await asyncio.gather(*(_run_one(ctx, item) for item in checks))
    finally:
        await ctx.http.aclose()
    return [finding for result in results for finding in result]


def worst(findings: list[Finding]) -> Severity:
    return max((f.severity for f in findings), default=Severity.PASS)
