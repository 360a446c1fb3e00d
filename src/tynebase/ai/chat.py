"""Chat and generation calls for other features: one function each, provider-agnostic.

Every function takes `source`: the `AIRouter`, or the `Settings` (the process's router for them
is used, see `get_router`). In a request that is `ctx.state.settings`, in a job `ctx.settings`.

    from tynebase.ai.chat import ChatMessage, complete_chat, llm_configured, stream_chat
    from tynebase.ai.preferences import load_preferences

    prefs = await load_preferences(ctx.conn)          # the tenant's picks (RLS-scoped)
    if not llm_configured(ctx.settings, tenant_preference=prefs, task=AITask.generate):
        text = extractive.summarize(body)             # and label the result as extractive
    result = await complete_chat(
        ctx.settings, tenant_preference=prefs, task=AITask.generate,
        messages=[ChatMessage("system", "You write concise summaries."),
                  ChatMessage("user", f"Summarise:\\n\\n{body}")],
        max_tokens=800,
    )
    result.text, result.provider, result.model, result.usage.output_tokens, result.extractive

    async with stream_chat(state.settings, tenant_preference=prefs, messages=msgs) as stream:
        async for delta in stream:                    # text deltas
            ...
    stream.provider, stream.model, stream.usage, stream.extractive

Failures raise `tynebase.ai.providers.errors.AIError` subclasses (codes AI_INVALID_CREDENTIALS,
AI_QUOTA_EXCEEDED, AI_MODEL_UNAVAILABLE, AI_TIMEOUT, AI_BAD_RESPONSE, AI_REQUEST_REJECTED,
AI_NOT_CONFIGURED), each with `.provider`, `.model`, `.code`, `.status`, `.details`; raised from a
request they become the error envelope, from a job handler they fail the job with that code.
A stream may raise one before its first delta (whole chain failed) or after (the provider broke
off; no fallback once text was sent).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tynebase.ai.providers.base import AIPreferences, ChatMessage, ChatResult, Usage
from tynebase.ai.providers.config import AITask
from tynebase.ai.providers.registry import get_router
from tynebase.ai.providers.router import AIRouter
from tynebase.ai.providers.streaming import ChatStream

if TYPE_CHECKING:
    from tynebase.settings import Settings

__all__ = [
    "AITask",
    "ChatMessage",
    "ChatResult",
    "ChatStream",
    "Usage",
    "complete_chat",
    "llm_configured",
    "router_of",
    "stream_chat",
]


def router_of(source: AIRouter | Settings) -> AIRouter:
    return source if isinstance(source, AIRouter) else get_router(source)


async def complete_chat(
    source: AIRouter | Settings,
    *,
    tenant_preference: AIPreferences | None,
    messages: list[ChatMessage],
    max_tokens: int | None = None,
    temperature: float | None = None,
    task: AITask = AITask.chat,
) -> ChatResult:
    """The whole answer at once, from the first provider of the task's chain that succeeds."""
    return await router_of(source).complete(
        task,
        messages,
        preference=tenant_preference,
        max_tokens=max_tokens,
        temperature=temperature,
    )


def stream_chat(
    source: AIRouter | Settings,
    *,
    tenant_preference: AIPreferences | None,
    messages: list[ChatMessage],
    max_tokens: int | None = None,
    temperature: float | None = None,
    task: AITask = AITask.chat,
) -> ChatStream:
    """The answer as text deltas (an `AsyncIterator[str]`; nothing is sent until iterated)."""
    return router_of(source).stream(
        task,
        messages,
        preference=tenant_preference,
        max_tokens=max_tokens,
        temperature=temperature,
    )


def llm_configured(
    source: AIRouter | Settings,
    *,
    tenant_preference: AIPreferences | None = None,
    task: AITask = AITask.chat,
) -> bool:
    """False when `task` would only reach the offline extractive provider: callers then build
    their own extractive result (with citations, labels) instead of calling `complete_chat`."""
    return router_of(source).llm_configured(task, tenant_preference)
