"""Prometheus metrics: RED per route template (never tenant ids), database pool gauges.

Each app gets its own registry, so several apps (tests, `serve`) never collide.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.pool import QueuePool

from tynebase.db.engine import Database

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _PoolCollector(Collector):
    def __init__(self, db: Database) -> None:
        self._db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self._db.engine.sync_engine.pool
        if not isinstance(pool, QueuePool):
            return
        for name, doc, value in (
            ("tynebase_db_pool_size", "Configured pool size", pool.size()),
            ("tynebase_db_pool_checked_out", "Connections in use", pool.checkedout()),
            (
                "tynebase_db_pool_overflow",
                "Connections beyond the pool size",
                max(pool.overflow(), 0),
            ),
            ("tynebase_db_pool_idle", "Idle pooled connections", pool.checkedin()),
            (
                "tynebase_db_pool_max",
                "Most connections the pool opens (size + max overflow)",
                pool.size() + max(int(getattr(pool, "_max_overflow", 0)), 0),
            ),
        ):
            yield GaugeMetricFamily(name, doc, value=value)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "tynebase_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "tynebase_http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "tynebase_auth_failures",
            "Refused authentications by reason (error code)",
            ["reason"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "tynebase_rate_limited",
            "Requests refused by a rate limit",
            ["limit"],
            registry=self.registry,
        )

    def watch_pool(self, db: Database) -> None:
        self.registry.register(_PoolCollector(db))

    def render(self) -> bytes:
        return generate_latest(self.registry)
