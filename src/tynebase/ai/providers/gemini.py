"""Google Gemini (generativelanguage API, `x-goog-api-key`) and Vertex AI (same request bodies
under a project/location URL, `Authorization: Bearer` with a static access token or tokens
obtained for a service account, see `google_auth`).

POST {base}/models/{model}:generateContent, :streamGenerateContent?alt=sse (SSE, one
GenerateContentResponse per event, the last with a finishReason), :batchEmbedContents (Gemini)
or :predict (Vertex embeddings). Transcription sends the audio inline to generateContent.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from tynebase.ai.providers.base import ChatMessage, ChatResult, StreamEvent, Transcript, Usage
from tynebase.ai.providers.config import ProviderConfig, ProviderKind
from tynebase.ai.providers.errors import AIRequestRejected
from tynebase.ai.providers.google_auth import (
    GOOGLE_TOKEN_URL,
    ServiceAccountAuth,
    load_service_account,
)
from tynebase.ai.providers.http import (
    decode_event,
    embedded_error,
    sse_events,
    truncated_stream,
    unexpected_shape,
)
from tynebase.ai.providers.remote import RemoteProvider, split_system

EMBED_BATCH = 100  # texts per batchEmbedContents / predict request
TRANSCRIBE_PROMPT = (
    "Transcribe this recording verbatim. Answer with the transcript only, without comments."
)


def _usage(data: dict[str, Any]) -> Usage | None:
    meta = data.get("usageMetadata")
    if not isinstance(meta, dict):
        return None
    return Usage(
        input_tokens=meta.get("promptTokenCount"), output_tokens=meta.get("candidatesTokenCount")
    )


class GeminiProvider(RemoteProvider):
    def __init__(
        self,
        config: ProviderConfig,
        *,
        timeout: float,
        connect_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        account = load_service_account(config)
        self.token_source = (
            ServiceAccountAuth(
                account,
                provider=config.name,
                token_url=config.token_url or account.token_uri or GOOGLE_TOKEN_URL,
                timeout=config.timeout_seconds or timeout,
                connect_timeout=connect_timeout,
                clock=clock,
            )
            if account is not None
            else None
        )
        super().__init__(
            config, timeout=timeout, connect_timeout=connect_timeout, auth=self.token_source
        )

    @property
    def vertex(self) -> bool:
        return self.config.kind is ProviderKind.vertex

    def auth_headers(self) -> dict[str, str]:
        if not self.api_key:
            return {}
        # A header, never `?key=`: URLs end up in logs and exception texts.
        if self.vertex:
            return {"Authorization": f"Bearer {self.api_key}"}
        return {"x-goog-api-key": self.api_key}

    def _url(self, model: str, method: str) -> str:
        return f"{self.base_url}/models/{model.removeprefix('models/')}:{method}"

    def _body(
        self, messages: list[ChatMessage], max_tokens: int | None, temperature: float | None
    ) -> dict[str, Any]:
        system, turns = split_system(messages)
        body: dict[str, Any] = {
            "contents": [
                {
                    "role": "model" if m.role == "assistant" else "user",
                    "parts": [{"text": m.content}],
                }
                for m in turns
            ]
        }
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        config: dict[str, Any] = {}
        if max_tokens is not None:
            config["maxOutputTokens"] = max_tokens
        if temperature is not None:
            config["temperature"] = temperature
        if config:
            body["generationConfig"] = config
        return body

    def _candidate(self, data: Any, model: str) -> tuple[str, str | None]:
        """(text, finishReason) of the first candidate."""
        if not isinstance(data, dict):
            raise unexpected_shape(self.name, model, "a response object")
        candidates = data.get("candidates")
        if not candidates:
            feedback = data.get("promptFeedback") or {}
            if feedback.get("blockReason"):
                raise AIRequestRejected(
                    f"The AI provider {self.name} blocked the prompt",
                    provider=self.name,
                    model=model,
                    reason="blocked",
                )
            return "", None
        try:
            candidate = candidates[0]
            parts = (candidate.get("content") or {}).get("parts") or []
            text = "".join(p["text"] for p in parts if isinstance(p.get("text"), str))
        except (KeyError, TypeError, AttributeError) as exc:
            raise unexpected_shape(self.name, model, "candidates[0].content.parts") from exc
        return text, candidate.get("finishReason")

    async def chat(
        self,
        *,
        model: str,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> ChatResult:
        data = await self.http.post_json(
            self._url(model, "generateContent"),
            model=model,
            json=self._body(messages, max_tokens, temperature),
        )
        text, finish = self._candidate(data, model)
        if finish is None:
            raise unexpected_shape(self.name, model, "a candidate")
        return ChatResult(
            text=text,
            provider=self.name,
            model=str(data.get("modelVersion") or model),
            usage=_usage(data) or Usage(),
            finish_reason=finish,
        )

    async def stream_chat(
        self,
        *,
        model: str,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> AsyncIterator[StreamEvent]:
        usage: Usage | None = None
        async with self.http.stream(
            self._url(model, "streamGenerateContent"),
            model=model,
            json=self._body(messages, max_tokens, temperature),
            params={"alt": "sse"},
        ) as response:
            async for event in sse_events(response, provider=self.name, model=model):
                data = decode_event(event.data, provider=self.name, model=model)
                if isinstance(data, dict) and isinstance(data.get("error"), dict):
                    raise embedded_error(data["error"], provider=self.name, model=model)
                text, finish = self._candidate(data, model)
                usage = _usage(data) or usage
                if text:
                    yield StreamEvent(text=text)
                if finish is not None:
                    yield StreamEvent(done=True, usage=usage, finish_reason=finish)
                    return
        raise truncated_stream(self.name, model)

    async def embed(self, *, model: str, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = texts[start : start + EMBED_BATCH]
            vectors += await (self._vertex_embed if self.vertex else self._gemini_embed)(
                model, batch
            )
        return vectors

    async def _gemini_embed(self, model: str, texts: list[str]) -> list[list[float]]:
        name = f"models/{model.removeprefix('models/')}"
        dims = self.config.embedding_dimensions
        requests = []
        for text in texts:
            request: dict[str, Any] = {"model": name, "content": {"parts": [{"text": text}]}}
            if dims is not None:
                request["outputDimensionality"] = dims
            requests.append(request)
        data = await self.http.post_json(
            self._url(model, "batchEmbedContents"), model=model, json={"requests": requests}
        )
        try:
            vectors = [[float(x) for x in row["values"]] for row in data["embeddings"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise unexpected_shape(self.name, model, "embeddings[].values") from exc
        if len(vectors) != len(texts):
            raise unexpected_shape(self.name, model, "one vector per text")
        return vectors

    async def _vertex_embed(self, model: str, texts: list[str]) -> list[list[float]]:
        body: dict[str, Any] = {"instances": [{"content": text} for text in texts]}
        if self.config.embedding_dimensions is not None:
            body["parameters"] = {"outputDimensionality": self.config.embedding_dimensions}
        data = await self.http.post_json(self._url(model, "predict"), model=model, json=body)
        try:
            vectors = [
                [float(x) for x in row["embeddings"]["values"]] for row in data["predictions"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise unexpected_shape(self.name, model, "predictions[].embeddings.values") from exc
        if len(vectors) != len(texts):
            raise unexpected_shape(self.name, model, "one vector per text")
        return vectors

    async def aclose(self) -> None:
        if self.token_source is not None:
            await self.token_source.aclose()
        await super().aclose()

    async def transcribe(
        self,
        *,
        model: str,
        audio: bytes,
        filename: str,
        content_type: str,
        language: str | None,
    ) -> Transcript:
        prompt = TRANSCRIBE_PROMPT + (f" The language is {language}." if language else "")
        body = {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": prompt},
                        {
                            "inlineData": {
                                "mimeType": content_type,
                                "data": base64.b64encode(audio).decode(),
                            }
                        },
                    ],
                }
            ]
        }
        data = await self.http.post_json(
            self._url(model, "generateContent"), model=model, json=body
        )
        text, finish = self._candidate(data, model)
        if finish is None:
            raise unexpected_shape(self.name, model, "a candidate")
        return Transcript(text=text.strip(), provider=self.name, model=model, language=language)
