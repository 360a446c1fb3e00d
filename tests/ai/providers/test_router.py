"""Routing: fallback chains, tenant preferences, retries with backoff and Retry-After, the circuit
breaker per provider (moved by an injected clock), metrics and structured logs."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from tests.ai.fakes import FakeAnthropic, FakeGemini, FakeOpenAI
from tests.ai.providers.conftest import Harness, chat_chain, harness, metrics_text
from tynebase.ai.chat import ChatMessage, complete_chat, llm_configured, stream_chat
from tynebase.ai.providers.base import AIPreferences, ChatResult, ProviderChoice
from tynebase.ai.providers.breaker import BreakerState
from tynebase.ai.providers.config import AITask
from tynebase.ai.providers.errors import AIError
from tynebase.logging import JsonFormatter

MESSAGES = [ChatMessage("user", "Where is the handbook?")]


def _ask(h: Harness, preference: AIPreferences | None = None) -> Coroutine[Any, Any, ChatResult]:
    return complete_chat(h.router, tenant_preference=preference, messages=MESSAGES)


# --- fallback ------------------------------------------------------------------------------------


def test_falls_back_to_the_next_provider(tmp_path: Path) -> None:
    with FakeOpenAI() as primary, FakeAnthropic() as secondary:
        h = chat_chain(tmp_path, primary, secondary, ai_max_retries=0)
        primary.enqueue(primary.error(401))
        result = h.run(_ask(h))
        assert result.provider == "anthropic"
        assert result.text.startswith("Fake anthropic answer")
        assert (len(primary.requests), len(secondary.requests)) == (1, 1)
        text = metrics_text(h)
    assert 'tynebase_ai_fallbacks_total{provider="openai",task="chat"} 1.0' in text
    failed = 'outcome="invalid_credentials",provider="openai",task="chat"'
    assert f"tynebase_ai_requests_total{{{failed}}} 1.0" in text
    assert (
        'tynebase_ai_requests_total{outcome="success",provider="anthropic",task="chat"} 1.0' in text
    )


def test_whole_chain_failing_reports_the_first_provider_and_every_attempt(tmp_path: Path) -> None:
    with FakeOpenAI() as primary, FakeGemini() as secondary:
        h = chat_chain(tmp_path, primary, secondary, ai_max_retries=0)
        primary.enqueue(primary.error(404))
        secondary.enqueue(secondary.error(403))
        with pytest.raises(AIError) as caught:
            h.run(_ask(h))
    assert caught.value.code == "AI_MODEL_UNAVAILABLE"
    assert caught.value.details["attempts"] == [
        {"provider": "openai", "code": "AI_MODEL_UNAVAILABLE", "reason": "unknown_model"},
        {"provider": "gemini", "code": "AI_INVALID_CREDENTIALS"},
    ]


def test_local_in_the_chain_gives_an_extractive_answer(tmp_path: Path) -> None:
    with FakeOpenAI() as primary:
        h = harness(tmp_path, primary.config(), routes={"chat": ["openai", "local"]})
        primary.enqueue(primary.error(401))
        messages = [
            ChatMessage("system", "The handbook lives in the Operations category. Lunch is at 12."),
            ChatMessage("user", "Where does the handbook live?"),
        ]
        result = h.run(complete_chat(h.router, tenant_preference=None, messages=messages))
    assert (result.provider, result.model, result.extractive) == ("local", "extractive", True)
    assert result.text == "The handbook lives in the Operations category."


def test_stream_falls_back_before_its_first_chunk(tmp_path: Path) -> None:
    with FakeGemini() as primary, FakeAnthropic() as secondary:
        h = chat_chain(tmp_path, primary, secondary, ai_max_retries=0)
        primary.enqueue(primary.error(503))
        stream = stream_chat(h.router, tenant_preference=None, messages=MESSAGES)
        text = h.run(stream.text())
    assert text == "Fake anthropic answer to: Where is the handbook?"
    assert (stream.provider, stream.extractive) == ("anthropic", False)
    assert stream.usage.output_tokens == 5


def test_a_stream_is_not_switched_after_text_was_sent(tmp_path: Path) -> None:
    with FakeOpenAI() as primary, FakeAnthropic() as secondary:
        h = chat_chain(tmp_path, primary, secondary)
        primary.enqueue(primary.stream("half an answer", truncate=True))
        with pytest.raises(AIError) as caught:
            h.run(stream_chat(h.router, tenant_preference=None, messages=MESSAGES).text())
        assert caught.value.code == "AI_BAD_RESPONSE"
        assert secondary.requests == []


# --- preferences ---------------------------------------------------------------------------------


def test_tenant_preference_goes_first_and_keeps_the_rest_as_fallback(tmp_path: Path) -> None:
    with FakeOpenAI() as openai, FakeAnthropic() as anthropic:
        h = harness(
            tmp_path,
            openai.config(allowed_models=["fake-chat-large"]),
            anthropic.config(),
            routes={"chat": ["openai", "anthropic"]},
        )
        prefer = AIPreferences({AITask.chat: ProviderChoice("anthropic")})
        assert h.router.chain(AITask.chat, prefer) == [
            ("anthropic", "fake-chat"),
            ("openai", "fake-chat"),
        ]
        big = AIPreferences({AITask.chat: ProviderChoice("openai", "fake-chat-large")})
        assert h.router.chain(AITask.chat, big)[0] == ("openai", "fake-chat-large")
        result = h.run(_ask(h, big))
        assert openai.requests[-1].json["model"] == "fake-chat-large"
        assert result.provider == "openai"
        # A pick the configuration no longer offers is ignored, never sent upstream.
        stale_model = AIPreferences({AITask.chat: ProviderChoice("openai", "gone-model")})
        assert h.router.chain(AITask.chat, stale_model)[0] == ("openai", "fake-chat")
        stale_provider = AIPreferences({AITask.chat: ProviderChoice("removed")})
        assert h.router.chain(AITask.chat, stale_provider)[0] == ("openai", "fake-chat")


def test_llm_configured(tmp_path: Path) -> None:
    nothing = harness(tmp_path)
    assert not llm_configured(nothing.router)
    assert nothing.router.chain(AITask.chat) == [("local", "extractive")]
    assert nothing.router.chain(AITask.embed) == []
    with FakeOpenAI() as fake:
        configured = harness(tmp_path, fake.config(models={"chat": "m"}))
        assert llm_configured(configured.router, task=AITask.chat)
        assert not llm_configured(configured.router, task=AITask.generate)
        local = AIPreferences({AITask.chat: ProviderChoice("local")})
        assert not llm_configured(configured.router, tenant_preference=local)


# --- retries -------------------------------------------------------------------------------------


def test_retry_after_within_the_cap_is_waited_exactly(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        h = harness(tmp_path, fake.config(), ai_retry_after_cap_seconds=10)
        fake.enqueue(fake.error(429, retry_after=2), fake.error(429, retry_after=3))
        result = h.run(_ask(h))
    assert result.provider == "openai"
    assert h.sleeps == [2.0, 3.0]
    assert len(fake.requests) == 3


def test_retry_after_beyond_the_cap_moves_on(tmp_path: Path) -> None:
    with FakeOpenAI() as primary, FakeAnthropic() as secondary:
        h = chat_chain(tmp_path, primary, secondary, ai_retry_after_cap_seconds=10)
        primary.enqueue(primary.error(429, retry_after=120))
        result = h.run(_ask(h))
    assert result.provider == "anthropic"
    assert h.sleeps == []
    assert len(primary.requests) == 1


def test_server_errors_back_off_exponentially(tmp_path: Path) -> None:
    with FakeAnthropic() as fake:
        h = harness(tmp_path, fake.config(), ai_max_retries=3, ai_retry_base_seconds=0.5)
        fake.enqueue(fake.error(500), fake.error(529), fake.error(503))
        result = h.run(_ask(h))
    assert result.provider == "anthropic"
    assert h.sleeps == [0.5, 1.0, 2.0]


def test_retries_stop_at_the_limit(tmp_path: Path) -> None:
    with FakeGemini() as fake:
        h = harness(tmp_path, fake.config(max_retries=1), ai_max_retries=5)
        fake.enqueue(fake.error(503), fake.error(503), fake.error(503))
        with pytest.raises(AIError):
            h.run(_ask(h))
    assert len(fake.requests) == 2  # the provider's own max_retries wins


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, ""), (401, ""), (403, ""), (404, ""), (429, "insufficient_quota")],
)
def test_no_retry_where_it_cannot_help(tmp_path: Path, status: int, kind: str) -> None:
    with FakeOpenAI() as fake:
        h = harness(tmp_path, fake.config(), ai_max_retries=3)
        fake.enqueue(fake.error(status, kind=kind))
        with pytest.raises(AIError):
            h.run(_ask(h))
    assert len(fake.requests) == 1
    assert h.sleeps == []


def test_a_read_timeout_is_not_retried(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        h = harness(tmp_path, fake.config(), ai_max_retries=3, ai_timeout_seconds=1.0)
        fake.enqueue(fake.slow(30))
        with pytest.raises(AIError) as caught:
            h.run(_ask(h))
    assert caught.value.code == "AI_TIMEOUT"
    assert len(fake.requests) == 1


# --- circuit breaker -----------------------------------------------------------------------------


def test_breaker_opens_after_failures_then_half_opens_after_cooldown(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        h = harness(
            tmp_path,
            fake.config(),
            ai_max_retries=0,
            ai_breaker_failures=3,
            ai_breaker_cooldown_seconds=30,
        )
        breaker = h.router.breakers["openai"]
        for _ in range(3):
            fake.enqueue(fake.error(500))
            with pytest.raises(AIError):
                h.run(_ask(h))
        assert breaker.state is BreakerState.open
        assert len(fake.requests) == 3

        # Open: the provider is not called at all.
        with pytest.raises(AIError) as caught:
            h.run(_ask(h))
        assert (caught.value.code, caught.value.reason) == ("AI_MODEL_UNAVAILABLE", "circuit_open")
        assert caught.value.details["last_error"] == "AI_MODEL_UNAVAILABLE"
        assert caught.value.headers["Retry-After"] == "30"
        assert len(fake.requests) == 3

        # After the cooldown one probe goes through; it fails, so the circuit opens again.
        h.clock.advance(30)
        assert breaker.state is BreakerState.half_open
        fake.enqueue(fake.error(503))
        with pytest.raises(AIError):
            h.run(_ask(h))
        assert len(fake.requests) == 4
        assert breaker.state is BreakerState.open

        # Next cooldown: the probe succeeds and closes the circuit.
        h.clock.advance(29)
        assert breaker.state is BreakerState.open
        h.clock.advance(1)
        result = h.run(_ask(h))
        assert result.provider == "openai"
        assert breaker.state is BreakerState.closed
        status = {s.name: s for s in h.router.status()}["openai"]
        assert (status.state, status.last_error) == (BreakerState.closed, "AI_MODEL_UNAVAILABLE")


def test_open_breaker_falls_back_without_calling(tmp_path: Path) -> None:
    with FakeOpenAI() as primary, FakeAnthropic() as secondary:
        h = chat_chain(tmp_path, primary, secondary, ai_max_retries=0, ai_breaker_failures=1)
        primary.enqueue(primary.error(401))
        assert h.run(_ask(h)).provider == "anthropic"
        assert h.run(_ask(h)).provider == "anthropic"
        assert len(primary.requests) == 1
        text = metrics_text(h)
    assert 'tynebase_ai_circuit_state{provider="openai"} 2.0' in text
    assert 'tynebase_ai_circuit_state{provider="anthropic"} 0.0' in text
    assert 'outcome="circuit_open",provider="openai"' in text


def test_a_rejected_request_does_not_trip_the_breaker(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        h = harness(tmp_path, fake.config(), ai_max_retries=0, ai_breaker_failures=1)
        fake.enqueue(fake.error(400))
        with pytest.raises(AIError):
            h.run(_ask(h))
        assert h.router.breakers["openai"].state is BreakerState.closed


def test_half_open_lets_one_probe_at_a_time(tmp_path: Path) -> None:
    h = harness(tmp_path, ai_breaker_failures=1, ai_breaker_cooldown_seconds=5)
    breaker = h.router.breakers["local"]
    breaker.record_failure("AI_TIMEOUT")
    assert not breaker.allow()
    h.clock.advance(5)
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # a second caller waits for its verdict
    h.clock.advance(5)
    assert breaker.allow()  # a probe lost without a verdict does not block for ever
    breaker.release()  # the probe ended without one (cancelled)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.closed


# --- logs ----------------------------------------------------------------------------------------


def test_failures_are_logged_structured_without_the_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeOpenAI() as fake:
        h = harness(tmp_path, fake.config(api_key="sk-very-secret-value"), ai_max_retries=0)
        fake.enqueue(fake.error(401))
        with caplog.at_level(logging.INFO, logger="tynebase.ai"), pytest.raises(AIError):
            h.run(_ask(h))
    assert fake.requests[0].headers["authorization"] == "Bearer sk-very-secret-value"
    [record] = [r for r in caplog.records if r.name == "tynebase.ai"]
    line = JsonFormatter().format(record)
    assert '"ai_code":"AI_INVALID_CREDENTIALS"' in line
    assert '"ai_provider":"openai"' in line
    assert '"upstream_status":401' in line
    assert "sk-very-secret-value" not in line
    assert "sk-very-secret-value" not in repr(h.router.providers["openai"])
    assert "sk-very-secret-value" not in repr(vars(h.router.providers["openai"]))
