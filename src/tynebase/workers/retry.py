"""Exponential backoff for retryable job failures (a procrastinate retry strategy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.jobs import Job as QueueJob

from tynebase.jobs.registry import is_retryable


@dataclass(frozen=True)
class BackoffRetry(BaseRetryStrategy):
    """Retry transient failures after base, 2 x base, 4 x base ... seconds (capped), until the job
    has run `max_attempts` times. procrastinate's own RetryStrategy counts whole seconds and
    retries every exception type; ours waits fractions (short in tests) and never retries a
    deliberate failure (see `is_retryable`)."""

    max_attempts: int
    base_seconds: float
    max_seconds: float

    def delay(self, failed_runs: int) -> float:
        return min(self.max_seconds, self.base_seconds * 2.0 ** max(0, failed_runs - 1))

    def get_retry_decision(
        self, *, exception: BaseException, job: QueueJob
    ) -> RetryDecision | None:
        runs = job.attempts + 1  # procrastinate counts earlier runs; this one just ended
        if runs >= self.max_attempts or not is_retryable(exception):
            return None
        return RetryDecision(retry_at=datetime.now(UTC) + timedelta(seconds=self.delay(runs)))
