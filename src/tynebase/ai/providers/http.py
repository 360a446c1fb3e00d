"""HTTP plumbing shared by the remote providers: clients per event loop, one mapping from
transport failures and upstream statuses to classified `AIError`s, and an SSE reader.

httpx is used directly (not the vendors' SDKs) so that every failure is classified by one set of
rules, streams are read line by line with our own timeouts, and no SDK pins or retries behind our
back (the router owns retries, backoff and the circuit breaker).
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import orjson

from tynebase.ai.providers.errors import (
    AIBadResponse,
    AIError,
    AIModelUnavailable,
    AITimeout,
    classify_status,
    parse_retry_after,
)

# An error body is read for its type only; a server that sends more is not worth reading.
ERROR_BODY_LIMIT = 64 * 1024


def error_type_of(body: bytes) -> tuple[str, str]:
    """(error type words, message) from an OpenAI, Anthropic or Google error body."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "", ""
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return "", ""
    words = [
        str(error[key]) for key in ("code", "type", "status") if isinstance(error.get(key), str)
    ]
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
            words.append(detail["reason"])
    message = error.get("message")
    return " ".join(words), message if isinstance(message, str) else ""


class RequestAuth(Protocol):
    """Credentials that change over time (access tokens), asked for before each request."""

    async def headers(self) -> Mapping[str, str]: ...

    def invalidate(self, headers: Mapping[str, str]) -> None:
        """These headers were answered 401: do not hand them out again."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how one provider is called."""

    provider: str
    headers: Mapping[str, str]
    timeout: float  # a whole non-streaming call; the gap between two stream chunks
    connect_timeout: float
    auth: RequestAuth | None = None


class HttpClient:
    """One pooled httpx client per event loop (a client must not outlive or cross loops)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]
        self._clients = weakref.WeakKeyDictionary()

    def client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            e = self.endpoint
            client = httpx.AsyncClient(
                headers=dict(e.headers),
                timeout=httpx.Timeout(e.timeout, connect=e.connect_timeout),
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            )
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the client of the running loop (others close with their loops)."""
        loop = asyncio.get_running_loop()
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()

    # --- calls ------------------------------------------------------------------------------

    async def post_json(
        self,
        url: str,
        *,
        model: str | None,
        json: Any = None,
        files: Any = None,
        data: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """POST and return the decoded JSON answer, or raise a classified AIError."""
        provider = self.endpoint.provider

        async def post(headers: Mapping[str, str]) -> httpx.Response:
            try:
                async with asyncio.timeout(self.endpoint.timeout):
                    return await self.client().post(
                        url, json=json, files=files, data=data, params=params, headers=headers
                    )
            except (TimeoutError, httpx.TimeoutException, httpx.TransportError) as exc:
                raise transport_error(exc, provider=provider, model=model) from exc

        auth = self.endpoint.auth
        headers = await auth.headers() if auth is not None else {}
        response = await post(headers)
        if response.status_code == 401 and auth is not None:
            # A token revoked or rotated before its expiry: one fresh token, one more try.
            auth.invalidate(headers)
            response = await post(await auth.headers())
        if response.status_code >= 400:
            raise status_error(
                response, response.content[:ERROR_BODY_LIMIT], model=model, provider=provider
            )
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise AIBadResponse(
                f"The AI provider {provider} sent malformed JSON",
                provider=provider,
                model=model,
                reason="malformed",
            ) from exc

    @contextlib.asynccontextmanager
    async def stream(
        self,
        url: str,
        *,
        model: str | None,
        json: Any,
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """POST and yield the response once its status is known to be a success."""
        provider = self.endpoint.provider

        async def send(headers: Mapping[str, str]) -> httpx.Response:
            request = self.client().build_request(
                "POST", url, json=json, params=params, headers=headers
            )
            try:
                return await self.client().send(request, stream=True)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                raise transport_error(exc, provider=provider, model=model) from exc

        auth = self.endpoint.auth
        headers = await auth.headers() if auth is not None else {}
        response = await send(headers)
        if response.status_code == 401 and auth is not None:
            await response.aclose()  # as in post_json: one fresh token, one more try
            auth.invalidate(headers)
            response = await send(await auth.headers())
        try:
            if response.status_code >= 400:
                body = await _read_limited(response)
                raise status_error(response, body, model=model, provider=provider)
            yield response
        finally:
            await response.aclose()


async def _read_limited(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    with contextlib.suppress(httpx.HTTPError):
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= ERROR_BODY_LIMIT:
                break
    return b"".join(chunks)


def status_error(
    response: httpx.Response, body: bytes, *, provider: str, model: str | None
) -> AIError:
    error_type, message = error_type_of(body)
    error = classify_status(
        response.status_code,
        provider=provider,
        model=model,
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        error_type=error_type,
    )
    error.upstream_message = message[:300]
    return error


def embedded_error(error: dict[str, Any], *, provider: str, model: str | None) -> AIError:
    """An error object sent inside a stream after a 200 (vLLM, gateways, Gemini do this)."""
    code = error.get("code")
    status = code if isinstance(code, int) and 400 <= code < 600 else 500
    error_type, message = error_type_of(orjson.dumps({"error": error}))
    classified = classify_status(status, provider=provider, model=model, error_type=error_type)
    classified.upstream_message = message[:300]
    return classified


def transport_error(exc: BaseException, *, provider: str, model: str | None) -> AIError:
    """A classified error for a failure below HTTP (no status to go by)."""
    if isinstance(exc, httpx.ConnectTimeout):
        return AITimeout(
            f"The AI provider {provider} did not accept a connection in time",
            provider=provider,
            model=model,
            reason="connect",
        )
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return AITimeout(
            f"The AI provider {provider} did not answer in time",
            provider=provider,
            model=model,
            reason="read",
        )
    if isinstance(exc, httpx.ConnectError):
        return AIModelUnavailable(
            f"The AI provider {provider} is unreachable",
            provider=provider,
            model=model,
            reason="unreachable",
        )
    # The connection broke after it opened: the answer we hold is incomplete.
    return AIBadResponse(
        f"The AI provider {provider} sent an incomplete answer",
        provider=provider,
        model=model,
        reason="truncated",
    )


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str


async def sse_events(
    response: httpx.Response, *, provider: str, model: str | None
) -> AsyncIterator[SseEvent]:
    """Server-sent events of a streaming response; transport failures become AIErrors."""
    event, data = "", list[str]()
    try:
        async for line in response.aiter_lines():
            if not line:
                if data:
                    yield SseEvent(event or "message", "\n".join(data))
                event, data = "", []
                continue
            if line.startswith(":"):
                continue  # comment / keep-alive
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
        if data:
            yield SseEvent(event or "message", "\n".join(data))
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise transport_error(exc, provider=provider, model=model) from exc


def decode_event(data: str, *, provider: str, model: str | None) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise AIBadResponse(
            f"The AI provider {provider} sent a malformed stream event",
            provider=provider,
            model=model,
            reason="malformed",
        ) from exc


def truncated_stream(provider: str, model: str | None) -> AIBadResponse:
    return AIBadResponse(
        f"The AI provider {provider} ended the stream before the answer was complete",
        provider=provider,
        model=model,
        reason="truncated",
    )


def unexpected_shape(provider: str, model: str | None, what: str) -> AIBadResponse:
    return AIBadResponse(
        f"The AI provider {provider} sent an answer without {what}",
        provider=provider,
        model=model,
        reason="unexpected_shape",
    )
