"""Prometheus metrics of the collaboration server (OPS-2): read from the manager's plain
counters at scrape time, so the hot path only increments ints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from tynebase.collab.manager import CollabManager

LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Collector(Collector):
    def __init__(self, manager: CollabManager) -> None:
        self._manager = manager

    def collect(self) -> Iterator[Metric]:
        manager, stats = self._manager, self._manager.stats
        yield GaugeMetricFamily(
            "tynebase_collab_connections", "Open collaboration sockets", value=manager.connections
        )
        yield GaugeMetricFamily(
            "tynebase_collab_rooms", "Documents open in this process", value=len(manager.rooms)
        )
        messages = CounterMetricFamily(
            "tynebase_collab_messages", "WebSocket messages", labels=["direction", "type"]
        )
        for kind, count in sorted(stats.messages_in.items()):
            messages.add_metric(["in", kind], count)
        messages.add_metric(["out", "any"], stats.messages_out)
        yield messages
        sent = CounterMetricFamily("tynebase_collab_bytes", "WebSocket bytes", labels=["direction"])
        sent.add_metric(["in"], stats.bytes_in)
        sent.add_metric(["out"], stats.bytes_out)
        yield sent
        refusals = CounterMetricFamily(
            "tynebase_collab_refusals",
            "Sockets refused or closed by the server, and refused writes, by reason",
            labels=["reason"],
        )
        for reason, count in sorted(stats.refusals.items()):
            refusals.add_metric([reason], count)
        yield refusals
        store = manager.store
        yield GaugeMetricFamily(
            "tynebase_collab_pending_updates", "Updates not yet stored", value=store.pending
        )
        yield GaugeMetricFamily(
            "tynebase_collab_persistence_lag_seconds",
            "Age of the oldest update not yet stored",
            value=store.oldest_pending_age(),
        )
        yield CounterMetricFamily(
            "tynebase_collab_stored_updates", "Updates appended to the log", value=store.stored
        )
        yield CounterMetricFamily(
            "tynebase_collab_store_failures", "Failed store attempts", value=store.failures
        )
        projections = CounterMetricFamily(
            "tynebase_collab_projections", "Markdown projections by outcome", labels=["outcome"]
        )
        for outcome, count in sorted(manager.projections.items()):
            projections.add_metric([outcome], count)
        yield projections
        yield GaugeMetricFamily(
            "tynebase_collab_listener_connected",
            "1 while the fan-out/revocation listener is connected to Postgres",
            value=1 if manager.listener.connected else 0,
        )


class CollabMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.store_lag = Histogram(
            "tynebase_collab_store_lag_seconds",
            "From receiving an update to its commit in the log",
            buckets=LAG_BUCKETS,
            registry=registry,
        )

    def watch(self, manager: CollabManager) -> None:
        self.registry.register(_Collector(manager))
