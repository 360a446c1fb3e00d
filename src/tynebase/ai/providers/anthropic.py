"""Anthropic Messages API: POST {base}/messages; with `stream: true` an SSE stream of
message_start, content_block_delta (text_delta), message_delta (usage, stop_reason),
message_stop, ping and error events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from tynebase.ai.providers.base import ChatMessage, ChatResult, StreamEvent, Usage
from tynebase.ai.providers.errors import classify_status
from tynebase.ai.providers.http import (
    decode_event,
    sse_events,
    truncated_stream,
    unexpected_shape,
)
from tynebase.ai.providers.remote import RemoteProvider, split_system

# The Messages API requires max_tokens; this is used when the caller does not say.
DEFAULT_MAX_TOKENS = 4096


class AnthropicProvider(RemoteProvider):
    def auth_headers(self) -> dict[str, str]:
        headers = {"anthropic-version": self.config.anthropic_version}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        return headers

    def _body(
        self,
        model: str,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> dict[str, Any]:
        system, turns = split_system(messages)
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": max_tokens or DEFAULT_MAX_TOKENS,
            "messages": [{"role": m.role, "content": m.content} for m in turns],
        }
        if system:
            body["system"] = system
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
            f"{self.base_url}/messages",
            model=model,
            json=self._body(model, messages, max_tokens, temperature),
        )
        try:
            blocks = data["content"]
            text = "".join(b["text"] for b in blocks if b.get("type") == "text")
        except (KeyError, TypeError) as exc:
            raise unexpected_shape(self.name, model, "content[].text") from exc
        usage = data.get("usage") or {}
        return ChatResult(
            text=text,
            provider=self.name,
            model=str(data.get("model") or model),
            usage=Usage(
                input_tokens=usage.get("input_tokens"), output_tokens=usage.get("output_tokens")
            ),
            finish_reason=data.get("stop_reason"),
        )

    async def stream_chat(
        self,
        *,
        model: str,
        messages: list[ChatMessage],
        max_tokens: int | None,
        temperature: float | None,
    ) -> AsyncIterator[StreamEvent]:
        body = self._body(model, messages, max_tokens, temperature)
        body["stream"] = True
        input_tokens: int | None = None
        output_tokens: int | None = None
        finish: str | None = None
        async with self.http.stream(f"{self.base_url}/messages", model=model, json=body) as resp:
            async for event in sse_events(resp, provider=self.name, model=model):
                data = decode_event(event.data, provider=self.name, model=model)
                if not isinstance(data, dict):
                    raise unexpected_shape(self.name, model, "an event object")
                kind = data.get("type", event.event)
                if kind == "message_start":
                    usage = (data.get("message") or {}).get("usage") or {}
                    input_tokens = usage.get("input_tokens")
                elif kind == "content_block_delta":
                    delta = data.get("delta") or {}
                    if delta.get("type") == "text_delta" and delta.get("text"):
                        yield StreamEvent(text=str(delta["text"]))
                elif kind == "message_delta":
                    finish = (data.get("delta") or {}).get("stop_reason") or finish
                    output_tokens = (data.get("usage") or {}).get("output_tokens", output_tokens)
                elif kind == "message_stop":
                    yield StreamEvent(
                        done=True,
                        usage=Usage(input_tokens=input_tokens, output_tokens=output_tokens),
                        finish_reason=finish,
                    )
                    return
                elif kind == "error":
                    error = data.get("error") or {}
                    error_type = str(error.get("type", ""))
                    status = 529 if error_type == "overloaded_error" else 500
                    raise classify_status(
                        status, provider=self.name, model=model, error_type=error_type
                    )
        raise truncated_stream(self.name, model)
