"""Embedding, reranking and transcription through the router, as the small protocols of
`providers.base` (`Embedder`, `Reranker`, `Transcriber`), so callers hold one object and need not
know about providers:

    embedder = get_embedder(settings, tenant_preference=prefs)  # None: no remote embedder
    if embedder is None:
        embedder = local_embedder                                 # the retrieval feature's
    vectors = await embedder.embed(["first chunk", "second chunk"])
    embedder.name, embedder.dimensions      # e.g. "openai:text-embedding-3-small", 1536

Calls go through the router: retries, circuit breaker, metrics and classified errors apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tynebase.ai.providers.base import AIPreferences, RerankHit, Transcript
from tynebase.ai.providers.config import AITask
from tynebase.ai.providers.http import unexpected_shape
from tynebase.ai.providers.registry import get_router
from tynebase.ai.providers.router import AIRouter

if TYPE_CHECKING:
    from tynebase.settings import Settings


def _router(source: AIRouter | Settings) -> AIRouter:
    return source if isinstance(source, AIRouter) else get_router(source)


class RoutedEmbedder:
    """The tenant's embedding provider and model. No fallback: another model would put vectors
    into a different space."""

    def __init__(
        self,
        router: AIRouter,
        preference: AIPreferences | None,
        provider: str,
        model: str,
        dimensions: int,
    ) -> None:
        self._router = router
        self._preference = preference
        self.provider = provider
        self.model = model
        self._dimensions = dimensions

    @property
    def name(self) -> str:
        return f"{self.provider}:{self.model}"

    @property
    def dimensions(self) -> int:
        return self._dimensions

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = await self._router._run(
            AITask.embed,
            self._preference,
            lambda p, model: p.embed(model=model, texts=texts),
            [(self.provider, self.model)],
        )
        if any(len(v) != self._dimensions for v in vectors):
            raise unexpected_shape(self.provider, self.model, f"{self._dimensions}-dim vectors")
        return vectors


class RoutedReranker:
    def __init__(self, router: AIRouter, preference: AIPreferences | None) -> None:
        self._router = router
        self._preference = preference
        first = router.provider_for(AITask.rerank, preference)
        self._name = f"{first[0].name}:{first[1]}" if first else "none"

    @property
    def name(self) -> str:
        return self._name

    async def rerank(
        self, query: str, documents: list[str], *, top_n: int | None = None
    ) -> list[RerankHit]:
        if not documents:
            return []
        return await self._router.rerank(query, documents, top_n=top_n, preference=self._preference)


class RoutedTranscriber:
    def __init__(self, router: AIRouter, preference: AIPreferences | None) -> None:
        self._router = router
        self._preference = preference
        first = router.provider_for(AITask.transcribe, preference)
        self._name = f"{first[0].name}:{first[1]}" if first else "none"

    @property
    def name(self) -> str:
        return self._name

    async def transcribe(
        self,
        audio: bytes,
        *,
        filename: str,
        content_type: str,
        language: str | None = None,
    ) -> Transcript:
        return await self._router.transcribe(
            audio,
            filename=filename,
            content_type=content_type,
            language=language,
            preference=self._preference,
        )


def get_embedder(
    source: AIRouter | Settings, *, tenant_preference: AIPreferences | None = None
) -> RoutedEmbedder | None:
    """The remote embedder for the tenant, or None when no provider serves embeddings."""
    router = _router(source)
    first = router.provider_for(AITask.embed, tenant_preference)
    if first is None:
        return None
    provider, model = first
    dimensions = provider.embedding_dimensions()
    if dimensions is None:
        return None
    return RoutedEmbedder(router, tenant_preference, provider.name, model, dimensions)


def get_reranker(
    source: AIRouter | Settings, *, tenant_preference: AIPreferences | None = None
) -> RoutedReranker | None:
    """A reranker when a provider serves reranking, else None (retrieval skips the step)."""
    router = _router(source)
    if router.provider_for(AITask.rerank, tenant_preference) is None:
        return None
    return RoutedReranker(router, tenant_preference)


def get_transcriber(
    source: AIRouter | Settings, *, tenant_preference: AIPreferences | None = None
) -> RoutedTranscriber | None:
    """A transcriber when a provider serves transcription, else None (there is no offline
    one: the caller reports AI_NOT_CONFIGURED or skips the step)."""
    router = _router(source)
    if router.provider_for(AITask.transcribe, tenant_preference) is None:
        return None
    return RoutedTranscriber(router, tenant_preference)
