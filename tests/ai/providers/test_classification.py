"""Every upstream failure, over a real socket and in each wire format, becomes one classified
error with the provider named (AI-2)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.ai.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, FakeProvider, Reply
from tests.ai.providers.conftest import harness
from tynebase.ai.chat import ChatMessage, complete_chat, stream_chat
from tynebase.ai.providers.errors import AIError

MESSAGES = [ChatMessage("system", "Be brief."), ChatMessage("user", "What is TyneBase?")]
# The client's timeout where a test wants one (slow fakes take 30 s); elsewhere a generous one,
# so that a loaded machine never turns an answer into a timeout.
TIMEOUT = 1.0
GENEROUS = 30.0


def _bad_request(fake: FakeProvider) -> Reply:
    # Google answers an invalid key with 400 too; a plain INVALID_ARGUMENT is our request's fault.
    return (
        fake.error(400, kind="INVALID_ARGUMENT")
        if isinstance(fake, FakeGemini)
        else fake.error(400)
    )


CASES: dict[str, tuple[Callable[[FakeProvider], Reply], str, int | None]] = {
    "401": (lambda f: f.error(401), "AI_INVALID_CREDENTIALS", 401),
    "403": (lambda f: f.error(403), "AI_INVALID_CREDENTIALS", 403),
    "404 unknown model": (lambda f: f.error(404), "AI_MODEL_UNAVAILABLE", 404),
    "429 beyond the cap": (lambda f: f.error(429, retry_after=30), "AI_QUOTA_EXCEEDED", 429),
    "500": (lambda f: f.error(500), "AI_MODEL_UNAVAILABLE", 500),
    "503": (lambda f: f.error(503), "AI_MODEL_UNAVAILABLE", 503),
    "400": (_bad_request, "AI_REQUEST_REJECTED", 400),
    "slow": (lambda f: f.slow(30), "AI_TIMEOUT", None),
    "malformed json": (lambda f: f.malformed(), "AI_BAD_RESPONSE", None),
    "truncated body": (lambda f: f.truncated(), "AI_BAD_RESPONSE", None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_failures_map_to_codes(tmp_path: Path, fake: FakeProvider, case: str) -> None:
    make_reply, code, upstream = CASES[case]
    timeout = TIMEOUT if code == "AI_TIMEOUT" else GENEROUS
    h = harness(tmp_path, fake.config(), ai_max_retries=0, ai_timeout_seconds=timeout)
    fake.enqueue(make_reply(fake))
    with pytest.raises(AIError) as caught:
        h.run(complete_chat(h.router, tenant_preference=None, messages=MESSAGES))
    error = caught.value
    assert (error.code, error.provider, error.upstream_status) == (code, fake.kind, upstream)
    assert error.details["provider"] == fake.kind
    assert error.status in {502, 503, 504}
    assert len(fake.requests) == 1  # max_retries=0: exactly one call


def test_quota_error_carries_retry_after(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        h = harness(tmp_path, fake.config(), ai_max_retries=0)
        fake.enqueue(fake.error(429, retry_after=42))
        with pytest.raises(AIError) as caught:
            h.run(complete_chat(h.router, tenant_preference=None, messages=MESSAGES))
    assert caught.value.code == "AI_QUOTA_EXCEEDED"
    assert caught.value.headers["Retry-After"] == "42"
    assert caught.value.details["reason"] == "rate_limited"


def test_gemini_invalid_key_is_a_credentials_error(tmp_path: Path) -> None:
    with FakeGemini() as fake:
        h = harness(tmp_path, fake.config(), ai_max_retries=0)
        fake.enqueue(fake.error(400))  # INVALID_ARGUMENT with reason API_KEY_INVALID
        with pytest.raises(AIError) as caught:
            h.run(complete_chat(h.router, tenant_preference=None, messages=MESSAGES))
    assert caught.value.code == "AI_INVALID_CREDENTIALS"


def test_anthropic_overloaded_is_model_unavailable(tmp_path: Path) -> None:
    with FakeAnthropic() as fake:
        h = harness(tmp_path, fake.config(), ai_max_retries=0)
        fake.enqueue(fake.error(529))
        with pytest.raises(AIError) as caught:
            h.run(complete_chat(h.router, tenant_preference=None, messages=MESSAGES))
    assert (caught.value.code, caught.value.reason) == ("AI_MODEL_UNAVAILABLE", "upstream_error")


def test_unreachable_provider(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = FakeOpenAI().config(base_url=f"http://127.0.0.1:{port}/v1")
    h = harness(tmp_path, config, ai_max_retries=1)
    with pytest.raises(AIError) as caught:
        h.run(complete_chat(h.router, tenant_preference=None, messages=MESSAGES))
    assert (caught.value.code, caught.value.reason) == ("AI_MODEL_UNAVAILABLE", "unreachable")
    assert h.sleeps == [0.0]  # retried once (connect errors are worth it)


# --- streams -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "code"),
    [("truncated", "AI_BAD_RESPONSE"), ("malformed", "AI_BAD_RESPONSE"), ("stall", "AI_TIMEOUT")],
)
def test_stream_failures_after_the_first_chunk(
    tmp_path: Path, fake: FakeProvider, case: str, code: str
) -> None:
    timeout = TIMEOUT if code == "AI_TIMEOUT" else GENEROUS
    h = harness(tmp_path, fake.config(), ai_max_retries=0, ai_timeout_seconds=timeout)
    options = {"truncate": case == "truncated", "malformed": case == "malformed"}
    fake.enqueue(
        fake.stream("one two three", stall=30.0 if case == "stall" else None, **options)  # type: ignore[attr-defined]
    )
    received: list[str] = []

    async def consume() -> None:
        async for delta in stream_chat(h.router, tenant_preference=None, messages=MESSAGES):
            received.append(delta)

    with pytest.raises(AIError) as caught:
        h.run(consume())
    assert caught.value.code == code
    assert caught.value.provider == fake.kind
    assert received[:1] == ["one "]  # the text before the failure was delivered


@pytest.mark.parametrize("status", [401, 429, 503])
def test_stream_refused_before_any_text(tmp_path: Path, fake: FakeProvider, status: int) -> None:
    h = harness(tmp_path, fake.config(), ai_max_retries=0)
    fake.enqueue(fake.error(status, retry_after=60 if status == 429 else None))
    expected = {
        401: "AI_INVALID_CREDENTIALS",
        429: "AI_QUOTA_EXCEEDED",
        503: "AI_MODEL_UNAVAILABLE",
    }
    stream = stream_chat(h.router, tenant_preference=None, messages=MESSAGES)

    async def consume() -> str:
        return await stream.text()

    with pytest.raises(AIError) as caught:
        h.run(consume())
    assert caught.value.code == expected[status]
    assert stream.provider is None  # nobody answered


def test_anthropic_error_event_mid_stream(tmp_path: Path) -> None:
    with FakeAnthropic() as fake:
        h = harness(tmp_path, fake.config(), ai_max_retries=0)
        fake.enqueue(fake.stream("one two", error_after_first="overloaded_error"))
        with pytest.raises(AIError) as caught:
            h.run(stream_chat(h.router, tenant_preference=None, messages=MESSAGES).text())
    assert caught.value.code == "AI_MODEL_UNAVAILABLE"


def test_openai_error_object_inside_a_stream(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        h = harness(tmp_path, fake.config(), ai_max_retries=0)
        error = '{"error": {"message": "quota", "type": "insufficient_quota", "code": 429}}'
        fake.enqueue(Reply.sse(["data: " + error]))
        with pytest.raises(AIError) as caught:
            h.run(stream_chat(h.router, tenant_preference=None, messages=MESSAGES).text())
    assert (caught.value.code, caught.value.reason) == ("AI_QUOTA_EXCEEDED", "insufficient_quota")


def test_an_answer_our_code_did_not_expect_is_a_bad_response(tmp_path: Path) -> None:
    with FakeAnthropic() as fake:
        h = harness(tmp_path, fake.config(), ai_max_retries=0)
        fake.enqueue(Reply.json({"content": [{"type": "text", "text": "hi"}], "usage": "lots"}))
        with pytest.raises(AIError) as caught:
            h.run(complete_chat(h.router, tenant_preference=None, messages=MESSAGES))
    assert (caught.value.code, caught.value.reason) == ("AI_BAD_RESPONSE", "unexpected")
