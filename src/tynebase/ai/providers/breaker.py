"""A circuit breaker per provider: after `failure_threshold` failures in a row the provider is
skipped (open) for `cooldown_seconds`; then one probe call is let through (half-open): success
closes the circuit, failure opens it again for another cooldown.

The clock is injected (a monotonic seconds function) so tests move time instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


STATE_VALUES = {BreakerState.closed: 0, BreakerState.half_open: 1, BreakerState.open: 2}


class CircuitBreaker:
    def __init__(
        self,
        *,
        failure_threshold: int,
        cooldown_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self._probe_started = 0.0
        self.last_error: str | None = None  # code of the latest failure, for status and logs

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.closed
        if self._clock() - self._opened_at >= self.cooldown_seconds:
            return BreakerState.half_open
        return BreakerState.open

    def retry_in(self) -> float:
        """Seconds until an open circuit lets a probe through (0 when it would now)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.cooldown_seconds - self._clock())

    def allow(self) -> bool:
        """May a call go to the provider now? In half-open state only one probe at a time."""
        state = self.state
        if state is BreakerState.closed:
            return True
        if state is BreakerState.open:
            return False
        # A probe whose caller vanished without a verdict must not block the provider forever:
        # after another cooldown a new probe may go.
        if self._probing and self._clock() - self._probe_started < self.cooldown_seconds:
            return False
        self._probing = True
        self._probe_started = self._clock()
        return True

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self, code: str) -> None:
        self.last_error = code
        if self._probing or self.state is BreakerState.half_open:
            self._trip()
            return
        self._failures += 1
        if self._failures >= self.failure_threshold:
            self._trip()

    def release(self) -> None:
        """A call ended without a verdict on the provider (cancelled, or our own bad request)."""
        self._probing = False

    def _trip(self) -> None:
        self._opened_at = self._clock()
        self._failures = 0
        self._probing = False
