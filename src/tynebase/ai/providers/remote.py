"""What the HTTP providers share: configuration, the client, and "not served here" answers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Mapping

from tynebase.ai.providers.base import ChatMessage, ChatResult, StreamEvent, UnservedTasks
from tynebase.ai.providers.config import AITask, ProviderConfig
from tynebase.ai.providers.errors import AINotConfigured
from tynebase.ai.providers.http import Endpoint, HttpClient, RequestAuth


class RemoteProvider(UnservedTasks):
    """Base of the HTTP providers; subclasses implement the calls their API offers."""

    def __init__(
        self,
        config: ProviderConfig,
        *,
        timeout: float,
        connect_timeout: float,
        clock: Callable[[], float] = time.monotonic,  # for credentials that expire (Vertex)
        auth: RequestAuth | None = None,
    ) -> None:
        del clock  # the base needs no time; subclasses with expiring tokens use it
        self.config = config
        self.http = HttpClient(
            Endpoint(
                provider=config.name,
                headers={**self.auth_headers(), **_extra_headers(config)},
                timeout=config.timeout_seconds or timeout,
                connect_timeout=connect_timeout,
                auth=auth,
            )
        )

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def kind(self) -> str:
        return str(self.config.kind)

    @property
    def base_url(self) -> str:
        return self.config.url

    @property
    def api_key(self) -> str:
        key = self.config.api_key
        return key.get_secret_value() if key is not None else ""

    def auth_headers(self) -> dict[str, str]:
        return {}

    def model_for(self, task: AITask) -> str | None:
        return self.config.models.get(task)

    def embedding_dimensions(self) -> int | None:
        return self.config.dimensions

    def _unsupported(self, task: AITask) -> AINotConfigured:
        return AINotConfigured(
            f"The AI provider {self.name} ({self.kind}) does not offer {task}",
            provider=self.name,
        )

    async def chat(
        self,
        *,
        model: str,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> ChatResult:
        raise self._unsupported(AITask.chat)

    def stream_chat(
        self,
        *,
        model: str,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> AsyncIterator[StreamEvent]:
        raise self._unsupported(AITask.chat)

    async def aclose(self) -> None:
        await self.http.aclose()


def _extra_headers(config: ProviderConfig) -> Mapping[str, str]:
    return {name: value.get_secret_value() for name, value in config.headers.items()}


def split_system(messages: list[ChatMessage]) -> tuple[str, list[ChatMessage]]:
    """System prompts joined (Anthropic and Gemini take them apart from the turns)."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    return system, [m for m in messages if m.role != "system"]
