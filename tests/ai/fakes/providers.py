"""Fake AI providers speaking the real wire formats (OpenAI-compatible incl. Azure, Anthropic,
Gemini incl. Vertex), each a `FakeServer` on loopback. For any test that needs an AI provider:

    with FakeOpenAI() as fake:
        settings = make_settings(..., **ai_overrides(fake.config()))
        ...                                   # calls answer with fake.answer(messages)
        fake.enqueue(fake.error(429, retry_after=2))   # the next call is rate limited
        fake.enqueue(fake.stream("Hello there", truncate=True))
        fake.requests[-1].json                # what the client sent

Default behaviour: chat answers `answer_text` (or `answer(messages)`), streams it word by word,
embeddings are a deterministic hashed bag of words (similar texts, similar vectors), rerank scores
by shared words, transcription answers `transcript_text`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable
from typing import Any

import orjson

from tests.ai.fakes.server import FakeServer, Reply, Request

DIMENSIONS = 8
Messages = list[dict[str, Any]]


def fake_embedding(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """Feature hashing of the words, L2-normalised: texts sharing words point the same way."""
    vector = [0.0] * dimensions
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.sha256(word.encode()).digest()
        vector[digest[0] % dimensions] += 1.0 if digest[1] % 2 else -1.0
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def words_of(text: str) -> list[str]:
    """How the fakes cut an answer into stream chunks (words with their following space)."""
    return re.findall(r"\S+\s*", text)


class FakeProvider(FakeServer):
    kind = ""
    api_prefix = ""
    embeds = False  # whether the wire format has embeddings (configured with our dimensions)

    def __init__(self, *, answer_text: str | None = None, dimensions: int = DIMENSIONS) -> None:
        super().__init__(self._route)
        self.answer_text = answer_text
        self.dimensions = dimensions
        self.transcript_text = "This is the fake transcript of the recording."
        self.answer: Callable[[Messages], str] = self._default_answer

    def _default_answer(self, messages: Messages) -> str:
        if self.answer_text is not None:
            return self.answer_text
        last = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        content = str(last.get("content", ""))
        return f"Fake {self.kind} answer to: {content[:80]}"

    @property
    def base_url(self) -> str:
        return self.url + self.api_prefix

    def config(self, name: str | None = None, **extra: Any) -> dict[str, Any]:
        """An entry for TYNEBASE_AI_PROVIDERS pointing at this fake."""
        entry: dict[str, Any] = {
            "name": name or self.kind,
            "kind": self.kind,
            "base_url": self.base_url,
            "api_key": "fake-key-123",
            "models": self.default_models(),
        }
        if self.embeds:
            entry["embedding_dimensions"] = self.dimensions
        entry.update(extra)
        return entry

    def default_models(self) -> dict[str, str]:
        return {"chat": "fake-chat", "generate": "fake-chat"}

    def _route(self, request: Request) -> Reply:
        raise NotImplementedError

    # Failure replies (format-specific bodies) -----------------------------------------------------

    def error(self, status: int, *, retry_after: float | None = None, kind: str = "") -> Reply:
        raise NotImplementedError

    def slow(self, seconds: float) -> Reply:
        """Answers only after `seconds` (longer than the client's timeout in tests)."""
        return Reply(status=200, delay=seconds, body=b"{}")

    def malformed(self) -> Reply:
        return Reply(status=200, headers={"content-type": "application/json"}, body=b'{"choi')

    def truncated(self) -> Reply:
        """A body announced longer than sent: the connection closes mid-body."""
        body = orjson.dumps({"padding": "x" * 200})
        return Reply(
            status=200,
            headers={"content-type": "application/json", "content-length": str(len(body))},
            body=body,
            truncate_at=40,
        )


# --- OpenAI-compatible (and Azure) ---------------------------------------------------------------

_OPENAI_ERRORS = {
    400: ("invalid_request_error", "context_length_exceeded"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", "server_error"),
    503: ("server_error", "service_unavailable"),
}


class FakeOpenAI(FakeProvider):
    kind = "openai"
    api_prefix = "/v1"
    embeds = True

    def __init__(self, *, azure: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.azure = azure
        if azure:
            self.kind, self.api_prefix = "azure", ""

    def default_models(self) -> dict[str, str]:
        return (
            {
                "chat": "fake-chat",
                "generate": "fake-chat",
                "embed": "fake-embed",
                "rerank": "fake-rerank",
                "transcribe": "fake-whisper",
            }
            if not self.azure
            else {
                "chat": "chat-deployment",
                "generate": "chat-deployment",
                "embed": "embed-deployment",
                "transcribe": "whisper-deployment",
            }
        )

    def _route(self, request: Request) -> Reply:
        path = request.path
        if self.azure:
            match = re.fullmatch(r"/openai/deployments/([^/]+)/(.+)", path)
            if not match or "api-version" not in request.query:
                return self.error(404)
            model, path = match.group(1), "/v1/" + match.group(2)
        if path == "/v1/chat/completions":
            body = request.json
            model = body.get("model", "") if not self.azure else model
            text = self.answer(body["messages"])
            if body.get("stream"):
                return self.stream(text, model=model)
            return Reply.json(self.completion(text, model=model))
        if path == "/v1/embeddings":
            texts = request.json["input"]
            texts = [texts] if isinstance(texts, str) else texts
            data = [
                {"object": "embedding", "index": i, "embedding": fake_embedding(t, self.dimensions)}
                for i, t in enumerate(texts)
            ]
            return Reply.json({"object": "list", "data": data, "model": "fake-embed"})
        if path == "/v1/rerank":
            body = request.json
            query = set(re.findall(r"\w+", body["query"].lower()))
            results = [
                {"index": i, "relevance_score": len(query & set(re.findall(r"\w+", d.lower())))}
                for i, d in enumerate(body["documents"])
            ]
            results.sort(key=lambda r: -r["relevance_score"])
            return Reply.json({"results": results[: body.get("top_n") or len(results)]})
        if path == "/v1/audio/transcriptions":
            return Reply.json(
                {"text": self.transcript_text, "language": "english", "duration": 3.5}
            )
        return self.error(404)

    def completion(self, text: str, *, model: str = "fake-chat") -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 11, "completion_tokens": len(words_of(text))},
        }

    def stream(
        self,
        text: str,
        *,
        model: str = "fake-chat",
        truncate: bool = False,
        malformed: bool = False,
        stall: float | None = None,
    ) -> Reply:
        """An SSE completion stream; `truncate` ends it before [DONE], `malformed` sends broken
        JSON after the first chunk, `stall` pauses that long after the first chunk."""
        chunks = [
            sse_data(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "model": model,
                    "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                }
            )
            for piece in words_of(text)
        ]
        events = _after_first(chunks, 'data: {"choices": [' if malformed else None, stall)
        if truncate:
            return Reply.sse(events, end_stream=False)
        done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        usage = {"choices": [], "usage": {"prompt_tokens": 11, "completion_tokens": 5}}
        events += [sse_data(done), sse_data(usage), "data: [DONE]"]
        return Reply.sse(events)

    def paced_stream(self, pieces: list[str], *, pause: float) -> Reply:
        """An SSE completion stream of `pieces`, each followed by a `pause` of that many seconds
        (a model that takes its time)."""
        events: list[str | float] = []
        for piece in pieces:
            events += [sse_data({"choices": [{"index": 0, "delta": {"content": piece}}]}), pause]
        done = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        return Reply.sse([*events, sse_data(done), "data: [DONE]"])

    def error(self, status: int, *, retry_after: float | None = None, kind: str = "") -> Reply:
        error_type, code = _OPENAI_ERRORS.get(status, ("server_error", "server_error"))
        body = {"error": {"message": f"fake {status}", "type": error_type, "code": kind or code}}
        return _error_reply(body, status, retry_after)


# --- Anthropic ------------------------------------------------------------------------------------

_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


class FakeAnthropic(FakeProvider):
    kind = "anthropic"
    api_prefix = "/v1"

    def _route(self, request: Request) -> Reply:
        if request.path != "/v1/messages":
            return self.error(404)
        if "anthropic-version" not in request.headers:
            return self.error(400)
        body = request.json
        messages = list(body["messages"])
        text = self.answer(messages)
        if body.get("stream"):
            return self.stream(text, model=body["model"])
        return Reply.json(
            {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 12, "output_tokens": len(words_of(text))},
            }
        )

    def stream(
        self,
        text: str,
        *,
        model: str = "fake-chat",
        truncate: bool = False,
        malformed: bool = False,
        error_after_first: str | None = None,
        stall: float | None = None,
    ) -> Reply:
        def event(name: str, data: dict[str, Any]) -> str:
            return f"event: {name}\ndata: " + orjson.dumps({"type": name, **data}).decode()

        start = {"message": {"id": "msg_fake", "model": model, "usage": {"input_tokens": 12}}}
        deltas = [
            event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": p}})
            for p in words_of(text)
        ]
        events: list[str | float] = [
            event("message_start", start),
            event("content_block_start", {"index": 0, "content_block": {"type": "text"}}),
            event("ping", {}),
            *_after_first(
                deltas,
                "event: content_block_delta\ndata: {not json" if malformed else None,
                event("error", {"error": {"type": error_after_first}})
                if error_after_first
                else None,
                stall,
            ),
        ]
        if truncate:
            return Reply.sse(events, end_stream=False)
        events += [
            event("content_block_stop", {"index": 0}),
            event(
                "message_delta",
                {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}},
            ),
            event("message_stop", {}),
        ]
        return Reply.sse(events)

    def error(self, status: int, *, retry_after: float | None = None, kind: str = "") -> Reply:
        error_type = kind or _ANTHROPIC_ERRORS.get(status, "api_error")
        body = {"type": "error", "error": {"type": error_type, "message": f"fake {status}"}}
        return _error_reply(body, status, retry_after)


# --- Gemini and Vertex ---------------------------------------------------------------------------

_GOOGLE_ERRORS = {
    400: ("INVALID_ARGUMENT", "API_KEY_INVALID"),
    403: ("PERMISSION_DENIED", ""),
    404: ("NOT_FOUND", ""),
    429: ("RESOURCE_EXHAUSTED", ""),
    500: ("INTERNAL", ""),
    503: ("UNAVAILABLE", ""),
}


class FakeGemini(FakeProvider):
    kind = "gemini"
    api_prefix = "/v1beta"
    embeds = True

    def __init__(self, *, vertex: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vertex = vertex
        # Vertex: when set, only these bearer tokens are valid (others get 401 UNAUTHENTICATED,
        # as for an expired or revoked token); a FakeGoogleToken adds the tokens it issues.
        self.valid_tokens: set[str] | None = None
        if vertex:
            self.kind = "vertex"
            self.api_prefix = "/v1/projects/fake-project/locations/europe-west4/publishers/google"

    def default_models(self) -> dict[str, str]:
        return {
            "chat": "gemini-fake",
            "generate": "gemini-fake",
            "embed": "fake-embedding",
            "transcribe": "gemini-fake",
        }

    def _authorised(self, request: Request) -> bool:
        if self.vertex:
            return request.headers.get("authorization", "").startswith("Bearer ")
        return bool(request.headers.get("x-goog-api-key"))

    def _route(self, request: Request) -> Reply:
        match = re.fullmatch(re.escape(self.api_prefix) + r"/models/([^:/]+):(\w+)", request.path)
        if not match:
            return self.error(404)
        if not self._authorised(request):
            return self.error(403)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.vertex and self.valid_tokens is not None and token not in self.valid_tokens:
            return self.error(401, kind="UNAUTHENTICATED")
        model, method = match.groups()
        body = request.json
        if method in ("generateContent", "streamGenerateContent"):
            parts = body["contents"][-1]["parts"]
            if any("inlineData" in p for p in parts):
                return Reply.json(self.response(self.transcript_text, model=model))
            messages = [
                {"role": c["role"], "content": "".join(p.get("text", "") for p in c["parts"])}
                for c in body["contents"]
            ]
            text = self.answer(messages)
            if method == "streamGenerateContent":
                if request.query.get("alt") != "sse":
                    return self.error(400)
                return self.stream(text, model=model)
            return Reply.json(self.response(text, model=model))
        if method == "batchEmbedContents" and not self.vertex:
            vectors = [
                {"values": fake_embedding(r["content"]["parts"][0]["text"], self.dimensions)}
                for r in body["requests"]
            ]
            return Reply.json({"embeddings": vectors})
        if method == "predict" and self.vertex:
            predictions = [
                {"embeddings": {"values": fake_embedding(i["content"], self.dimensions)}}
                for i in body["instances"]
            ]
            return Reply.json({"predictions": predictions})
        return self.error(404)

    def response(
        self, text: str, *, model: str = "gemini-fake", finish: str | None = "STOP"
    ) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
        if finish:
            candidate["finishReason"] = finish
        return {
            "candidates": [candidate],
            "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": len(words_of(text))},
            "modelVersion": model,
        }

    def stream(
        self,
        text: str,
        *,
        model: str = "gemini-fake",
        truncate: bool = False,
        malformed: bool = False,
        stall: float | None = None,
    ) -> Reply:
        pieces = words_of(text)
        last = len(pieces) - 1 if not truncate else -1  # the chunk that carries finishReason
        chunks = [
            sse_data(self.response(piece, model=model, finish="STOP" if i == last else None))
            for i, piece in enumerate(pieces)
        ]
        events = _after_first(chunks, 'data: {"candidates": [' if malformed else None, stall)
        return Reply.sse(events, end_stream=not truncate)

    def error(self, status: int, *, retry_after: float | None = None, kind: str = "") -> Reply:
        google_status, reason = _GOOGLE_ERRORS.get(status, ("INTERNAL", ""))
        error: dict[str, Any] = {
            "code": status,
            "message": f"fake {status}",
            "status": kind or google_status,
        }
        if reason and not kind:
            info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason}
            error["details"] = [info]
        return _error_reply({"error": error}, status, retry_after)


def sse_data(value: Any) -> str:
    """One SSE `data:` line carrying `value` as JSON."""
    return "data: " + orjson.dumps(value).decode()


def _after_first(chunks: list[str], *faults: str | float | None) -> list[str | float]:
    """The stream's chunk events with `faults` (broken events, a stall in seconds) sent right
    after the first chunk; None stands for a fault not asked for."""
    injected = [fault for fault in faults if fault is not None]
    return [*chunks[:1], *injected, *chunks[1:]] if chunks else []


def _error_reply(body: dict[str, Any], status: int, retry_after: float | None) -> Reply:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return Reply.json(body, status=status, headers=headers)


def ai_overrides(
    *providers: dict[str, Any], routes: dict[str, list[str]] | None = None, **settings: Any
) -> dict[str, Any]:
    """Settings overrides (for `make_settings`) that configure these fake providers, with no
    backoff waits so failure tests stay fast. Timeouts stay generous (a loaded test machine must
    not turn answers into timeouts); a test about timeouts sets `ai_timeout_seconds` itself."""
    values: dict[str, Any] = {
        "ai_providers": list(providers),
        "ai_timeout_seconds": 30.0,
        "ai_connect_timeout_seconds": 10.0,
        "ai_retry_base_seconds": 0.0,
    }
    if routes is not None:
        values["ai_routes"] = routes
    values.update(settings)
    return values
