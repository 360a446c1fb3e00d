"""A router over fake providers with an injected clock and sleep: time moves when a test says
so, and backoff waits are recorded instead of slept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from tests.ai.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, FakeProvider, ai_overrides
from tests.conftest import make_settings
from tynebase.ai.providers.registry import build_router
from tynebase.ai.providers.router import AIRouter

T = TypeVar("T")

# Every wire format the providers speak, for tests that must hold in each.
FORMATS: dict[str, Callable[[], FakeProvider]] = {
    "openai": FakeOpenAI,
    "azure": lambda: FakeOpenAI(azure=True),
    "anthropic": FakeAnthropic,
    "gemini": FakeGemini,
    "vertex": lambda: FakeGemini(vertex=True),
}


@pytest.fixture(params=sorted(FORMATS))
def fake(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    """A fake provider, once per wire format."""
    with FORMATS[request.param]() as server:
        yield server


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    router: AIRouter
    clock: FakeClock
    sleeps: list[float] = field(default_factory=list)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        async def main() -> T:
            try:
                return await coro
            finally:
                await self.router.aclose()

        return asyncio.run(main())


def harness(
    tmp_path: Path,
    *providers: dict[str, Any],
    routes: dict[str, list[str]] | None = None,
    **settings: Any,
) -> Harness:
    clock = FakeClock()
    made = Harness(router=None, clock=clock)  # type: ignore[arg-type]

    async def sleep(seconds: float) -> None:
        made.sleeps.append(seconds)

    values = ai_overrides(*providers, routes=routes, **settings)
    made.router = build_router(make_settings(tmp_path, None, **values), clock=clock, sleep=sleep)
    return made


def chat_chain(
    tmp_path: Path, primary: FakeProvider, secondary: FakeProvider, **settings: Any
) -> Harness:
    """A harness whose chat route tries `primary`, then `secondary` (each under its kind)."""
    routes = {"chat": [primary.kind, secondary.kind]}
    return harness(tmp_path, primary.config(), secondary.config(), routes=routes, **settings)


def metrics_text(h: Harness) -> str:
    """The router's metrics in the Prometheus text format."""
    registry = CollectorRegistry()
    h.router.metrics.register(registry)
    return generate_latest(registry).decode()
