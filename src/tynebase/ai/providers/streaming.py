"""Streamed chat answers: `ChatStream` walks the router's chain until a provider's first chunk
arrives (retries and fallback happen only before it), then relays text deltas and settles the
circuit breaker and metrics when the stream ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tynebase.ai.providers.base import AIPreferences, ChatMessage, Provider, StreamEvent, Usage
from tynebase.ai.providers.config import LOCAL_PROVIDER, AITask
from tynebase.ai.providers.errors import AIBadResponse, AIError, unexpected_error

if TYPE_CHECKING:
    from tynebase.ai.providers.router import AIRouter


class ChatStream:
    """An answer streamed as text deltas: `async for delta in stream`. Once the first delta is
    out, `provider`, `model` and `extractive` say who answers; `usage` and `finish_reason` are
    set when the stream ends. Use `async with` (or `aclose()`) to end it early."""

    def __init__(
        self,
        router: AIRouter,
        task: AITask,
        messages: list[ChatMessage],
        preference: AIPreferences | None,
        max_tokens: int | None,
        temperature: float | None,
    ) -> None:
        self._router = router
        self._task = task
        self._messages = messages
        self._preference = preference
        self._max_tokens = max_tokens
        self._temperature = temperature
        self.provider: str | None = None
        self.model: str | None = None
        self.extractive = False
        self.usage = Usage()
        self.finish_reason: str | None = None
        self._deltas: AsyncGenerator[str, None] = self._run()

    def __aiter__(self) -> ChatStream:
        return self

    async def __anext__(self) -> str:
        return await self._deltas.__anext__()

    async def aclose(self) -> None:
        await self._deltas.aclose()

    async def __aenter__(self) -> ChatStream:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def text(self) -> str:
        """The whole answer (drains the stream)."""
        return "".join([delta async for delta in self])

    def _open(self, provider: Provider, model: str) -> AsyncIterator[StreamEvent]:
        return provider.stream_chat(
            model=model,
            messages=self._messages,
            max_tokens=self._max_tokens,
            temperature=self._temperature,
        )

    async def _first(self, provider: Provider, model: str) -> _Opened:
        events = self._open(provider, model)
        try:
            first = await events.__anext__()
        except StopAsyncIteration:
            raise AIBadResponse(
                f"The AI provider {provider.name} sent an empty stream",
                provider=provider.name,
                model=model,
                reason="truncated",
            ) from None
        except BaseException:
            await _close(events)
            raise
        return _Opened(provider.name, model, events, first)

    async def _run(self) -> AsyncGenerator[str, None]:
        router, task = self._router, self._task
        pairs = router.chain(task, self._preference)
        if not pairs:
            raise router._not_configured(task)
        started = router.clock()
        opened = await router._run(task, self._preference, self._first, pairs, settle=False)
        name, model, events = opened.provider, opened.model, opened.events
        self.provider, self.model = name, model
        self.extractive = name == LOCAL_PROVIDER
        breaker = router.breakers[name]
        finished = False
        try:
            event: StreamEvent | None = opened.first
            while event is not None:
                if event.done:
                    self.usage = event.usage or self.usage
                    self.finish_reason = event.finish_reason
                    finished = True
                    break
                if event.text:
                    yield event.text
                try:
                    event = await anext(events, None)
                except (AIError, asyncio.CancelledError):
                    raise
                except Exception as exc:
                    raise unexpected_error(name, model, exc) from exc
            if not finished:
                raise AIBadResponse(
                    f"The AI provider {name} ended the stream before the answer was complete",
                    provider=name,
                    model=model,
                    reason="truncated",
                )
        except AIError as exc:
            router._failed(name, model, task, exc, started, 0)
            raise
        except BaseException:
            breaker.release()  # the caller stopped reading: no verdict on the provider
            router.metrics.requests.labels(name, task, "cancelled").inc()
            raise
        finally:
            await _close(events)
        router._succeeded(name, model, task, started, self)


@dataclass(frozen=True)
class _Opened:
    provider: str
    model: str
    events: AsyncIterator[StreamEvent]
    first: StreamEvent


async def _close(events: AsyncIterator[StreamEvent]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()
