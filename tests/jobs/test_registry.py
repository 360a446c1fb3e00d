"""The handler registry and the backoff, without a database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from procrastinate.jobs import Job as QueueJob
from pydantic import ValidationError

from tynebase.errors import NotFound
from tynebase.jobs import registry
from tynebase.jobs.registry import JobContext, JobFailed, RetryLater, job_task
from tynebase.settings import Settings
from tynebase.workers.retry import BackoffRetry


def queue_job(attempts: int) -> QueueJob:
    return QueueJob(
        id=1, queue="tests", lock=None, queueing_lock=None, task_name="x", attempts=attempts
    )


def test_backoff_doubles_up_to_its_cap_and_stops_after_the_last_attempt() -> None:
    retry = BackoffRetry(max_attempts=5, base_seconds=2, max_seconds=5)
    assert [retry.delay(n) for n in (1, 2, 3, 4)] == [2, 4, 5, 5]
    before = datetime.now(UTC)
    for attempts in range(4):  # runs 1..4 failed: retried
        decision = retry.get_retry_decision(exception=OSError(), job=queue_job(attempts))
        assert decision is not None
        assert decision.retry_at is not None
        assert decision.retry_at > before
    # run 5 failed: no attempts left
    assert retry.get_retry_decision(exception=OSError(), job=queue_job(4)) is None


@pytest.mark.parametrize(
    ("exc", "retried"),
    [
        (ConnectionError("db went away"), True),
        (RuntimeError("bug or outage"), True),
        (asyncio.CancelledError(), True),  # the worker stopped: run it again
        (RetryLater("provider busy"), True),
        (JobFailed("unreadable file"), False),
        (NotFound("document is gone"), False),
    ],
)
def test_what_is_retried(exc: BaseException, retried: bool) -> None:
    retry = BackoffRetry(max_attempts=3, base_seconds=1, max_seconds=10)
    assert (retry.get_retry_decision(exception=exc, job=queue_job(0)) is not None) is retried


def test_errors_recorded_on_the_job() -> None:
    assert registry.error_of(JobFailed("Nope", code="IMPORT_UNREADABLE")) == {
        "code": "IMPORT_UNREADABLE",
        "message": "Nope",
    }
    assert registry.error_of(ValueError("bad")) == {
        "code": "JOB_ERROR",
        "message": "ValueError: bad",
    }
    assert registry.error_of(KeyError()) == {"code": "JOB_ERROR", "message": "KeyError"}
    assert len(registry.error_of(RuntimeError("x" * 5000))["message"]) == 500


def test_kinds_are_named_once() -> None:
    async def handler(ctx: JobContext) -> dict[str, Any]:
        return {}

    for bad in ("", "Upper.case", "has space", "a" * 101, ".leading"):
        with pytest.raises(ValueError, match="must match"):
            job_task(bad)
    with pytest.raises(ValueError, match="at least 1"):
        job_task("tests.zero", max_attempts=0)
    job_task("tests.registry-once")(handler)
    job_task("tests.registry-once")(handler)  # the same handler again (a re-import) is fine

    async def other(ctx: JobContext) -> dict[str, Any]:
        return {}

    with pytest.raises(ValueError, match="already handled"):
        job_task("tests.registry-once")(other)
    assert registry.get_spec("tests.registry-once") is not None
    assert registry.get_spec("tests.unknown-kind") is None
    with pytest.raises(LookupError, match="no handler"):
        registry.require_spec("tests.unknown-kind")


def test_a_live_worker_can_never_look_stalled() -> None:
    with pytest.raises(ValidationError, match="at least twice"):
        Settings(worker_heartbeat_seconds=10, worker_stalled_seconds=15)
    ok = Settings(worker_heartbeat_seconds=1, worker_stalled_seconds=2)
    assert ok.worker_stalled_seconds == 2
