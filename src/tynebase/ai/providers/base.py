"""The one interface every provider implements, and the value types callers see.

Other features import from here: `ChatMessage`, `ChatResult`, `Usage`, `ProviderChoice`,
`AIPreferences`, and the protocols `Embedder` (also implemented by the retrieval feature's local
embedder), `Reranker`, `Transcriber`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from tynebase.ai.providers.config import AITask
from tynebase.ai.providers.errors import AINotConfigured

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class ChatResult:
    """A finished answer. `extractive` is True when the offline provider assembled it from the
    given text (no language model was involved)."""

    text: str
    provider: str
    model: str
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    extractive: bool = False


@dataclass(frozen=True)
class StreamEvent:
    """What a provider stream yields: text deltas, then (optionally) one final event with usage
    and finish reason (`done=True`, empty text)."""

    text: str = ""
    done: bool = False
    usage: Usage | None = None
    finish_reason: str | None = None


@dataclass(frozen=True)
class RerankHit:
    index: int  # position in the documents given
    score: float


@dataclass(frozen=True)
class Transcript:
    text: str
    provider: str
    model: str
    language: str | None = None
    duration_seconds: float | None = None


@dataclass(frozen=True)
class ProviderChoice:
    """A tenant's pick for one task: a provider name and optionally one of its models."""

    provider: str
    model: str | None = None


@dataclass(frozen=True)
class AIPreferences:
    """A tenant's provider preference per task (table `ai_preferences`); empty = defaults."""

    choices: Mapping[AITask, ProviderChoice] = field(default_factory=dict)

    def for_task(self, task: AITask) -> ProviderChoice | None:
        return self.choices.get(task)


NO_PREFERENCES = AIPreferences()


@runtime_checkable
class Embedder(Protocol):
    """Texts to vectors. `name` identifies the vector space (provider and model): vectors of two
    embedders with different names must never be compared."""

    @property
    def name(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    async def embed(self, texts: list[str]) -> list[list[float]]: ...


@runtime_checkable
class Reranker(Protocol):
    @property
    def name(self) -> str: ...

    async def rerank(
        self, query: str, documents: list[str], *, top_n: int | None = None
    ) -> list[RerankHit]: ...


@runtime_checkable
class Transcriber(Protocol):
    @property
    def name(self) -> str: ...

    async def transcribe(
        self,
        audio: bytes,
        *,
        filename: str,
        content_type: str,
        language: str | None = None,
    ) -> Transcript: ...


class Provider(Protocol):
    """What the router drives. Implementations raise only `AIError` subclasses for upstream
    failures (never httpx exceptions), so routing and metrics see classified errors."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    def model_for(self, task: AITask) -> str | None:
        """The default model for `task`, None when this provider does not serve it."""
        ...

    def embedding_dimensions(self) -> int | None: ...

    async def chat(
        self,
        *,
        model: str,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> ChatResult: ...

    def stream_chat(
        self,
        *,
        model: str,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> AsyncIterator[StreamEvent]: ...

    async def embed(self, *, model: str, texts: list[str]) -> list[list[float]]: ...

    async def rerank(
        self, *, model: str, query: str, documents: list[str], top_n: int | None
    ) -> list[RerankHit]: ...

    async def transcribe(
        self,
        *,
        model: str,
        audio: bytes,
        filename: str,
        content_type: str,
        language: str | None,
    ) -> Transcript: ...

    async def aclose(self) -> None: ...


class UnservedTasks:
    """Embed, rerank and transcribe answered with `AINotConfigured`: a provider implementation
    inherits these and overrides the calls it does serve."""

    def _unsupported(self, task: AITask) -> AINotConfigured:
        raise NotImplementedError

    async def embed(self, *, model: str, texts: list[str]) -> list[list[float]]:
        raise self._unsupported(AITask.embed)

    async def rerank(
        self, *, model: str, query: str, documents: list[str], top_n: int | None
    ) -> list[RerankHit]:
        raise self._unsupported(AITask.rerank)

    async def transcribe(
        self,
        *,
        model: str,
        audio: bytes,
        filename: str,
        content_type: str,
        language: str | None,
    ) -> Transcript:
        raise self._unsupported(AITask.transcribe)
