"""OpenAI-compatible HTTP (OpenAI, vLLM, Ollama, LiteLLM, LocalAI ...) and Azure OpenAI.

Wire format: POST {base}/chat/completions (with `stream: true`: SSE `data: {chunk}` lines ending
in `data: [DONE]`), {base}/embeddings, {base}/audio/transcriptions (multipart) and, where the
server offers it (vLLM, Jina, Cohere-compatible gateways), {base}/rerank.
Azure: {base}/openai/deployments/{deployment}/... ?api-version=..., `api-key` header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from tynebase.ai.providers.base import (
    ChatMessage,
    ChatResult,
    RerankHit,
    StreamEvent,
    Transcript,
    Usage,
)
from tynebase.ai.providers.config import ProviderKind
from tynebase.ai.providers.http import (
    decode_event,
    embedded_error,
    sse_events,
    truncated_stream,
    unexpected_shape,
)
from tynebase.ai.providers.remote import RemoteProvider


def _usage(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None
    return Usage(
        input_tokens=data.get("prompt_tokens"), output_tokens=data.get("completion_tokens")
    )


class OpenAICompatProvider(RemoteProvider):
    @property
    def azure(self) -> bool:
        return self.config.kind is ProviderKind.azure

    def auth_headers(self) -> dict[str, str]:
        if not self.api_key:
            return {}  # Ollama and most local servers need none
        if self.azure:
            return {"api-key": self.api_key}
        return {"Authorization": f"Bearer {self.api_key}"}

    def _url(self, model: str, path: str) -> str:
        if self.azure:
            return f"{self.base_url}/openai/deployments/{model}/{path}"
        return f"{self.base_url}/{path}"

    def _params(self) -> dict[str, str] | None:
        return {"api-version": self.config.api_version} if self.azure else None

    def _chat_body(
        self,
        model: str,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
        }
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if temperature is not None:
            body["temperature"] = temperature
        return body

    async def chat(
        self,
        *,
        model: str,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> ChatResult:
        data = await self.http.post_json(
            self._url(model, "chat/completions"),
            model=model,
            json=self._chat_body(model, messages, max_tokens, temperature),
            params=self._params(),
        )
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise unexpected_shape(self.name, model, "choices[0].message") from exc
        if not isinstance(text, str):
            raise unexpected_shape(self.name, model, "message text")
        return ChatResult(
            text=text,
            provider=self.name,
            model=str(data.get("model") or model),
            usage=_usage(data.get("usage")) or Usage(),
            finish_reason=choice.get("finish_reason"),
        )

    async def stream_chat(
        self,
        *,
        model: str,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> AsyncIterator[StreamEvent]:
        body = self._chat_body(model, messages, max_tokens, temperature)
        body["stream"] = True
        if self.config.stream_usage:
            body["stream_options"] = {"include_usage": True}
        usage: Usage | None = None
        finish: str | None = None
        async with self.http.stream(
            self._url(model, "chat/completions"), model=model, json=body, params=self._params()
        ) as response:
            async for event in sse_events(response, provider=self.name, model=model):
                if event.data.strip() == "[DONE]":
                    yield StreamEvent(done=True, usage=usage, finish_reason=finish)
                    return
                chunk = decode_event(event.data, provider=self.name, model=model)
                if not isinstance(chunk, dict):
                    raise unexpected_shape(self.name, model, "a chunk object")
                if isinstance(chunk.get("error"), dict):
                    raise embedded_error(chunk["error"], provider=self.name, model=model)
                usage = _usage(chunk.get("usage")) or usage
                for choice in chunk.get("choices") or []:
                    finish = choice.get("finish_reason") or finish
                    text = (choice.get("delta") or {}).get("content")
                    if isinstance(text, str) and text:
                        yield StreamEvent(text=text)
        raise truncated_stream(self.name, model)

    async def embed(self, *, model: str, texts: list[str]) -> list[list[float]]:
        body: dict[str, Any] = {"model": model, "input": texts}
        if self.config.embedding_dimensions is not None and not self.azure:
            body["dimensions"] = self.config.embedding_dimensions
        data = await self.http.post_json(
            self._url(model, "embeddings"), model=model, json=body, params=self._params()
        )
        try:
            rows = sorted(data["data"], key=lambda row: row["index"])
            vectors = [[float(x) for x in row["embedding"]] for row in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise unexpected_shape(self.name, model, "data[].embedding") from exc
        if len(vectors) != len(texts):
            raise unexpected_shape(self.name, model, "one vector per text")
        return vectors

    async def rerank(
        self, *, model: str, query: str, documents: list[str], top_n: int | None
    ) -> list[RerankHit]:
        body: dict[str, Any] = {"model": model, "query": query, "documents": documents}
        if top_n is not None:
            body["top_n"] = top_n
        data = await self.http.post_json(self._url(model, "rerank"), model=model, json=body)
        try:
            hits = [
                RerankHit(index=int(row["index"]), score=float(row["relevance_score"]))
                for row in data["results"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise unexpected_shape(self.name, model, "results[].relevance_score") from exc
        if any(not 0 <= hit.index < len(documents) for hit in hits):
            raise unexpected_shape(self.name, model, "valid result indexes")
        return sorted(hits, key=lambda hit: hit.score, reverse=True)

    async def transcribe(
        self,
        *,
        model: str,
        audio: bytes,
        filename: str,
        content_type: str,
        language: str | None,
    ) -> Transcript:
        form = {"model": model, "response_format": "verbose_json"}
        if language:
            form["language"] = language
        data = await self.http.post_json(
            self._url(model, "audio/transcriptions"),
            model=model,
            files={"file": (filename, audio, content_type)},
            data=form,
            params=self._params(),
        )
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise unexpected_shape(self.name, model, "text")
        duration = data.get("duration")
        return Transcript(
            text=data["text"],
            provider=self.name,
            model=model,
            language=data.get("language") if isinstance(data.get("language"), str) else None,
            duration_seconds=float(duration) if isinstance(duration, int | float) else None,
        )
