"""Prometheus metrics of the provider layer (OPS-2): requests by provider, task and outcome,
latency, retries, fallbacks and the circuit state of each provider.

The metric objects are created unregistered and added to any registry that wants them (the API's
`/metrics`, a worker's), so one router per process serves several registries.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tynebase.ai.providers.breaker import STATE_VALUES, BreakerState

# AI calls take seconds, not milliseconds.
AI_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0)


class _BreakerCollector(Collector):
    def __init__(self, states: Callable[[], Mapping[str, BreakerState]]) -> None:
        self._states = states

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "tynebase_ai_circuit_state",
            "Circuit breaker per AI provider: 0 closed, 1 half-open, 2 open",
            labels=["provider"],
        )
        for provider, state in sorted(self._states().items()):
            family.add_metric([provider], STATE_VALUES[state])
        yield family


class AIMetrics:
    def __init__(self, breaker_states: Callable[[], Mapping[str, BreakerState]]) -> None:
        self.requests = Counter(
            "tynebase_ai_requests",
            "AI provider calls by provider, task and outcome (success or failure class)",
            ["provider", "task", "outcome"],
            registry=None,
        )
        self.duration = Histogram(
            "tynebase_ai_request_duration_seconds",
            "AI provider call duration (a stream: until its last chunk)",
            ["provider", "task"],
            buckets=AI_LATENCY_BUCKETS,
            registry=None,
        )
        self.retries = Counter(
            "tynebase_ai_retries",
            "AI provider calls tried again after a transient failure",
            ["provider", "task"],
            registry=None,
        )
        self.fallbacks = Counter(
            "tynebase_ai_fallbacks",
            "Times a task moved on to the next provider of its chain (provider: the one left)",
            ["provider", "task"],
            registry=None,
        )
        self._collectors: tuple[Collector, ...] = (
            self.requests,
            self.duration,
            self.retries,
            self.fallbacks,
            _BreakerCollector(breaker_states),
        )
        self._registries: weakref.WeakSet[CollectorRegistry] = weakref.WeakSet()

    def register(self, registry: CollectorRegistry) -> None:
        """Expose these metrics through `registry` (idempotent)."""
        if registry in self._registries:
            return
        for collector in self._collectors:
            registry.register(collector)
        self._registries.add(registry)
