"""The router: picks providers per task and tenant preference, walks the fallback chain, retries
where it helps, keeps a circuit breaker per provider, and records metrics and structured logs.

Retry rules (per provider, before falling back): 429 with a Retry-After within the cap (waited
exactly), 429 without one, 5xx/overloaded, unreachable and connect timeouts (exponential backoff
from `retry_base_seconds`). Never on 400/401/403/404, a billing quota, a read timeout (it would
double a long wait) or a malformed answer. A stream is retried or falls back only before its
first chunk; after that a failure ends it with the classified error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tynebase.ai.providers.base import (
    NO_PREFERENCES,
    AIPreferences,
    ChatMessage,
    ChatResult,
    Provider,
    RerankHit,
    Transcript,
    Usage,
)
from tynebase.ai.providers.breaker import BreakerState, CircuitBreaker
from tynebase.ai.providers.config import LOCAL_PROVIDER, AITask
from tynebase.ai.providers.errors import (
    AIError,
    AIModelUnavailable,
    AINotConfigured,
    unexpected_error,
)
from tynebase.ai.providers.metrics import AIMetrics
from tynebase.ai.providers.streaming import ChatStream

log = logging.getLogger("tynebase.ai")
T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    base_seconds: float = 0.5
    retry_after_cap_seconds: float = 10.0

    def delay(self, error: AIError, attempt: int) -> float | None:
        """Seconds to wait before retry number `attempt + 1`, None for no retry."""
        if attempt >= self.max_retries or not error.retryable:
            return None
        if error.retry_after is not None:
            if error.retry_after > self.retry_after_cap_seconds:
                return None  # better served by the next provider than by waiting
            return error.retry_after
        return float(self.base_seconds * 2**attempt)


@dataclass(frozen=True)
class ProviderStatus:
    """For health checks and `tynebase doctor`."""

    name: str
    kind: str
    state: BreakerState
    last_error: str | None
    retry_in_seconds: float
    tasks: tuple[AITask, ...]


class AIRouter:
    def __init__(
        self,
        *,
        providers: Sequence[Provider],
        routes: Mapping[AITask, Sequence[str]],
        allowed_models: Mapping[str, Mapping[AITask, Sequence[str]]] | None = None,
        retry: RetryPolicy | None = None,
        provider_retries: Mapping[str, int] | None = None,
        breaker_failures: int = 5,
        breaker_cooldown_seconds: float = 30.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.providers: dict[str, Provider] = {p.name: p for p in providers}
        self.routes = {task: list(chain) for task, chain in routes.items()}
        self.allowed_models = allowed_models or {}
        self.retry = retry or RetryPolicy()
        self._provider_retries = dict(provider_retries or {})
        self.clock = clock
        self._sleep = sleep
        self.breakers = {
            name: CircuitBreaker(
                failure_threshold=breaker_failures,
                cooldown_seconds=breaker_cooldown_seconds,
                clock=clock,
            )
            for name in self.providers
        }
        self.metrics = AIMetrics(lambda: {n: b.state for n, b in self.breakers.items()})

    # --- choosing -------------------------------------------------------------------------------

    def chain(self, task: AITask, preference: AIPreferences | None = None) -> list[tuple[str, str]]:
        """(provider, model) pairs to try for `task`, the tenant's pick first."""
        pairs: list[tuple[str, str]] = []
        for name in self.routes.get(task, []):
            provider = self.providers.get(name)
            model = provider.model_for(task) if provider else None
            if model is not None:
                pairs.append((name, model))
        choice = (preference or NO_PREFERENCES).for_task(task)
        if choice is not None and choice.provider in self.providers:
            provider = self.providers[choice.provider]
            default = provider.model_for(task)
            if default is not None:
                allowed = self.allowed_models.get(choice.provider, {}).get(task, [default])
                model = choice.model if choice.model and choice.model in allowed else default
                pairs = [(choice.provider, model)] + [p for p in pairs if p[0] != choice.provider]
        return pairs

    def llm_configured(
        self, task: AITask = AITask.chat, preference: AIPreferences | None = None
    ) -> bool:
        """Will `task` be answered by a language model? False when the offline extractive
        provider comes first (it never fails, so nothing after it is ever tried)."""
        pairs = self.chain(task, preference)
        return bool(pairs) and pairs[0][0] != LOCAL_PROVIDER

    def provider_for(
        self, task: AITask, preference: AIPreferences | None = None
    ) -> tuple[Provider, str] | None:
        """The first provider (and model) for `task`, without fallback."""
        pairs = self.chain(task, preference)
        if not pairs:
            return None
        name, model = pairs[0]
        return self.providers[name], model

    def status(self) -> list[ProviderStatus]:
        return [
            ProviderStatus(
                name=name,
                kind=provider.kind,
                state=self.breakers[name].state,
                last_error=self.breakers[name].last_error,
                retry_in_seconds=round(self.breakers[name].retry_in(), 3),
                tasks=tuple(t for t in AITask if provider.model_for(t) is not None),
            )
            for name, provider in self.providers.items()
        ]

    # --- calls ----------------------------------------------------------------------------------

    async def complete(
        self,
        task: AITask,
        messages: list[ChatMessage],
        *,
        preference: AIPreferences | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> ChatResult:
        return await self._run(
            task,
            preference,
            lambda p, model: p.chat(
                model=model, messages=messages, max_tokens=max_tokens, temperature=temperature
            ),
        )

    def stream(
        self,
        task: AITask,
        messages: list[ChatMessage],
        *,
        preference: AIPreferences | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> ChatStream:
        return ChatStream(self, task, messages, preference, max_tokens, temperature)

    async def embed(
        self, texts: list[str], *, preference: AIPreferences | None = None
    ) -> list[list[float]]:
        """Vectors from the first embedding provider only: a fallback to another model would
        mix vector spaces, so embeddings retry but never fall back."""
        first = self.chain(AITask.embed, preference)[:1]
        return await self._run(
            AITask.embed, preference, lambda p, model: p.embed(model=model, texts=texts), first
        )

    async def rerank(
        self,
        query: str,
        documents: list[str],
        *,
        top_n: int | None = None,
        preference: AIPreferences | None = None,
    ) -> list[RerankHit]:
        return await self._run(
            AITask.rerank,
            preference,
            lambda p, model: p.rerank(model=model, query=query, documents=documents, top_n=top_n),
        )

    async def transcribe(
        self,
        audio: bytes,
        *,
        filename: str,
        content_type: str,
        language: str | None = None,
        preference: AIPreferences | None = None,
    ) -> Transcript:
        return await self._run(
            AITask.transcribe,
            preference,
            lambda p, model: p.transcribe(
                model=model,
                audio=audio,
                filename=filename,
                content_type=content_type,
                language=language,
            ),
        )

    async def aclose(self) -> None:
        """Close the HTTP clients of the running event loop."""
        for provider in self.providers.values():
            await provider.aclose()

    # --- machinery ------------------------------------------------------------------------------

    def _max_retries(self, name: str) -> int:
        return self._provider_retries.get(name, self.retry.max_retries)

    def _retry_delay(self, name: str, error: AIError, attempt: int) -> float | None:
        if attempt >= self._max_retries(name):
            return None
        return self.retry.delay(error, attempt)

    def _not_configured(self, task: AITask) -> AINotConfigured:
        return AINotConfigured(
            f"No AI provider is configured for {task}; see TYNEBASE_AI_PROVIDERS",
            provider="none",
            details={"task": str(task)},
        )

    def _circuit_open(self, name: str, model: str, task: AITask) -> AIModelUnavailable:
        breaker = self.breakers[name]
        self.metrics.requests.labels(name, task, "circuit_open").inc()
        return AIModelUnavailable(
            f"The AI provider {name} is paused after repeated failures",
            provider=name,
            model=model,
            reason="circuit_open",
            retry_after=breaker.retry_in() or None,
            details={"last_error": breaker.last_error} if breaker.last_error else None,
        )

    async def _run(
        self,
        task: AITask,
        preference: AIPreferences | None,
        call: Callable[[Provider, str], Awaitable[T]],
        pairs: list[tuple[str, str]] | None = None,
        *,
        settle: bool = True,
    ) -> T:
        """`call` along the chain; with `settle=False` a success is left for the caller to
        record (a stream is judged when it ends, not when it opens)."""
        pairs = self.chain(task, preference) if pairs is None else pairs
        if not pairs:
            raise self._not_configured(task)
        errors: list[AIError] = []
        for name, model in pairs:
            if errors:
                self.metrics.fallbacks.labels(errors[-1].provider, task).inc()
            breaker = self.breakers[name]
            if not breaker.allow():
                errors.append(self._circuit_open(name, model, task))
                continue
            attempt = 0
            while True:
                started = self.clock()
                try:
                    try:
                        result = await call(self.providers[name], model)
                    except (AIError, asyncio.CancelledError):
                        raise
                    except Exception as exc:
                        raise unexpected_error(name, model, exc) from exc
                except AIError as exc:
                    self._failed(name, model, task, exc, started, attempt)
                    delay = self._retry_delay(name, exc, attempt)
                    if delay is None or not breaker.allow():
                        errors.append(exc)
                        break
                    attempt += 1
                    self.metrics.retries.labels(name, task).inc()
                    await self._sleep(delay)
                    continue
                except BaseException:
                    breaker.release()
                    raise
                if settle:
                    self._succeeded(name, model, task, started, result)
                return result
        raise _final(errors)

    def _succeeded(
        self, name: str, model: str, task: AITask, started: float, result: object
    ) -> None:
        self.breakers[name].record_success()
        elapsed = max(0.0, self.clock() - started)
        self.metrics.requests.labels(name, task, "success").inc()
        self.metrics.duration.labels(name, task).observe(elapsed)
        extra: dict[str, Any] = {}
        usage = getattr(result, "usage", None)
        if isinstance(usage, Usage):
            extra = {"ai_usage_in": usage.input_tokens, "ai_usage_out": usage.output_tokens}
        log.info(
            "ai call succeeded",
            extra={
                "ai_provider": name,
                "ai_task": str(task),
                "ai_model": model,
                "ai_outcome": "success",
                "duration_ms": round(elapsed * 1000, 1),
                **extra,
            },
        )

    def _failed(
        self, name: str, model: str, task: AITask, error: AIError, started: float, attempt: int
    ) -> None:
        breaker = self.breakers[name]
        if error.counts_against_provider:
            breaker.record_failure(error.code)
        else:
            breaker.release()
        elapsed = max(0.0, self.clock() - started)
        self.metrics.requests.labels(name, task, error.outcome).inc()
        self.metrics.duration.labels(name, task).observe(elapsed)
        log.warning(
            "ai call failed: %s",
            error.message,
            extra={
                "ai_provider": name,
                "ai_task": str(task),
                "ai_model": model,
                "ai_outcome": error.outcome,
                "ai_code": error.code,
                "ai_reason": error.reason,
                "upstream_status": error.upstream_status,
                "upstream_message": error.upstream_message or None,
                "attempt": attempt + 1,
                "circuit": str(breaker.state),
                "duration_ms": round(elapsed * 1000, 1),
            },
        )


def _final(errors: list[AIError]) -> AIError:
    """The error to report when the whole chain failed: the first provider's (the preferred
    one), listing what each provider answered."""
    first = errors[0]
    if len(errors) > 1:
        first.details["attempts"] = [
            {"provider": e.provider, "code": e.code, **({"reason": e.reason} if e.reason else {})}
            for e in errors
        ]
    return first
