"""Building the router from Settings, once per Settings object and process.

`get_router(settings)` is what entry points use: the API (`state.settings`), job handlers
(`ctx.settings`) and the CLI get the same router for the same settings, so breaker state and
metrics are shared by everything in one process. Nothing is built at import time; HTTP clients
open lazily on the first call, one per event loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from typing import TYPE_CHECKING

from tynebase.ai.providers.anthropic import AnthropicProvider
from tynebase.ai.providers.base import AIPreferences, Provider
from tynebase.ai.providers.config import (
    LOCAL_PROVIDER,
    AITask,
    ProviderConfig,
    ProviderKind,
)
from tynebase.ai.providers.errors import AINotConfigured
from tynebase.ai.providers.gemini import GeminiProvider
from tynebase.ai.providers.local import LocalProvider
from tynebase.ai.providers.openai_compat import OpenAICompatProvider
from tynebase.ai.providers.remote import RemoteProvider
from tynebase.ai.providers.router import AIRouter, Clock, RetryPolicy, Sleep

if TYPE_CHECKING:
    from tynebase.settings import Settings

_KINDS: dict[ProviderKind, type[RemoteProvider]] = {
    ProviderKind.openai: OpenAICompatProvider,
    ProviderKind.azure: OpenAICompatProvider,
    ProviderKind.anthropic: AnthropicProvider,
    ProviderKind.gemini: GeminiProvider,
    ProviderKind.vertex: GeminiProvider,
}
# Tasks the offline provider serves when no remote provider is configured for them.
_LOCAL_TASKS = (AITask.chat, AITask.generate)


def default_routes(providers: list[ProviderConfig]) -> dict[AITask, list[str]]:
    """Each task goes to the configured providers with a model for it, in the order listed;
    chat and generate go to the offline provider when no remote one serves them. A configured
    model failing is reported, not silently replaced by extractive text: add "local" to
    TYNEBASE_AI_ROUTES to fall back to it."""
    routes: dict[AITask, list[str]] = {}
    for task in AITask:
        names = [p.name for p in providers if task in p.models]
        if not names and task in _LOCAL_TASKS:
            names = [LOCAL_PROVIDER]
        routes[task] = names
    return routes


def build_router(
    settings: Settings,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> AIRouter:
    """A new router for `settings` (tests use this with a fake clock and sleep)."""
    remote = [
        _KINDS[config.kind](
            config,
            timeout=settings.ai_timeout_seconds,
            connect_timeout=settings.ai_connect_timeout_seconds,
            clock=clock,
        )
        for config in settings.ai_providers
    ]
    providers: list[Provider] = [LocalProvider(), *remote]
    routes = default_routes(settings.ai_providers)
    routes.update(settings.ai_routes)
    return AIRouter(
        providers=providers,
        routes=routes,
        allowed_models={
            c.name: {task: c.models_for(task) for task in c.models} for c in settings.ai_providers
        },
        retry=RetryPolicy(
            max_retries=settings.ai_max_retries,
            base_seconds=settings.ai_retry_base_seconds,
            retry_after_cap_seconds=settings.ai_retry_after_cap_seconds,
        ),
        provider_retries={
            c.name: c.max_retries for c in settings.ai_providers if c.max_retries is not None
        },
        breaker_failures=settings.ai_breaker_failures,
        breaker_cooldown_seconds=settings.ai_breaker_cooldown_seconds,
        clock=clock,
        sleep=sleep,
    )


_routers: dict[int, AIRouter] = {}
_lock = threading.Lock()


def get_router(settings: Settings) -> AIRouter:
    """The process's router for `settings` (built on first use)."""
    key = id(settings)
    router = _routers.get(key)
    if router is None:
        with _lock:
            router = _routers.get(key)
            if router is None:
                router = build_router(settings)
                _routers[key] = router
                # Forget the router with its settings (an id may be reused afterwards).
                weakref.finalize(settings, _routers.pop, key, None)
    return router


def first_choice(
    settings: Settings, preferences: AIPreferences | None, task: AITask
) -> tuple[str, str]:
    """(provider, model) that will be asked first for `task`: what a reservation is priced on."""
    first = get_router(settings).provider_for(task, preferences)
    if first is None:
        raise AINotConfigured(
            f"No AI provider is configured for {task}; see TYNEBASE_AI_PROVIDERS",
            provider="none",
            details={"task": str(task)},
        )
    provider, model = first
    return provider.name, model
