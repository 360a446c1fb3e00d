"""Successful calls in every wire format: chat, streaming, embeddings, reranking, transcription;
and what each request looked like on the wire."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.ai.fakes import (
    DIMENSIONS,
    FakeAnthropic,
    FakeOpenAI,
    FakeProvider,
    fake_embedding,
)
from tests.ai.providers.conftest import harness
from tynebase.ai.chat import ChatMessage, complete_chat, stream_chat
from tynebase.ai.providers.adapters import get_embedder, get_reranker, get_transcriber
from tynebase.ai.providers.base import Embedder, Reranker, Transcriber
from tynebase.ai.providers.breaker import BreakerState
from tynebase.ai.providers.errors import AIError

MESSAGES = [
    ChatMessage("system", "Answer from the context."),
    ChatMessage("user", "First question"),
    ChatMessage("assistant", "First answer"),
    ChatMessage("user", "Tell me about shipping policy"),
]


def test_complete(tmp_path: Path, fake: FakeProvider) -> None:
    h = harness(tmp_path, fake.config())
    result = h.run(
        complete_chat(
            h.router, tenant_preference=None, messages=MESSAGES, max_tokens=64, temperature=0.2
        )
    )
    assert result.text == f"Fake {fake.kind} answer to: Tell me about shipping policy"
    assert result.provider == fake.kind
    assert not result.extractive
    assert result.usage.output_tokens == 9  # the fakes count words
    sent = fake.requests[0]
    if fake.kind in ("openai", "azure"):
        assert sent.json["messages"][0] == {"role": "system", "content": "Answer from the context."}
        assert (sent.json["max_tokens"], sent.json["temperature"]) == (64, 0.2)
    elif fake.kind == "anthropic":
        assert sent.json["system"] == "Answer from the context."
        assert [m["role"] for m in sent.json["messages"]] == ["user", "assistant", "user"]
        assert sent.headers["x-api-key"] == "fake-key-123"
    else:
        assert sent.json["systemInstruction"] == {"parts": [{"text": "Answer from the context."}]}
        assert [c["role"] for c in sent.json["contents"]] == ["user", "model", "user"]
        assert sent.json["generationConfig"] == {"maxOutputTokens": 64, "temperature": 0.2}
    if fake.kind == "azure":
        assert sent.path == "/openai/deployments/chat-deployment/chat/completions"
        assert sent.headers["api-key"] == "fake-key-123"
    if fake.kind == "gemini":
        assert sent.headers["x-goog-api-key"] == "fake-key-123"
        assert "key" not in sent.query  # never in the URL
    if fake.kind == "vertex":
        assert sent.headers["authorization"] == "Bearer fake-key-123"


def test_stream(tmp_path: Path, fake: FakeProvider) -> None:
    h = harness(tmp_path, fake.config())
    stream = stream_chat(h.router, tenant_preference=None, messages=MESSAGES)

    async def collect() -> list[str]:
        return [delta async for delta in stream]

    deltas = h.run(collect())
    assert "".join(deltas) == f"Fake {fake.kind} answer to: Tell me about shipping policy"
    assert len(deltas) == 9  # word by word, as the fake sent them
    assert (stream.provider, stream.model) == (fake.kind, fake.default_models()["chat"])
    assert stream.finish_reason is not None
    assert stream.usage.output_tokens is not None
    assert h.router.breakers[fake.kind].state is BreakerState.closed


def test_closing_a_stream_early(tmp_path: Path) -> None:
    with FakeAnthropic() as fake:
        h = harness(tmp_path, fake.config(), ai_breaker_failures=1)
        fake.enqueue(fake.stream("one two three four", stall=30.0))

        async def first_only() -> str:
            async with stream_chat(h.router, tenant_preference=None, messages=MESSAGES) as s:
                async for delta in s:
                    return delta
            return ""

        assert h.run(first_only()) == "one "
        # Stopping is not a provider failure.
        assert h.router.breakers["anthropic"].state is BreakerState.closed


def test_embeddings(tmp_path: Path, fake: FakeProvider) -> None:
    if fake.kind == "anthropic":
        pytest.skip("Anthropic has no embeddings API")
    h = harness(tmp_path, fake.config())
    embedder = get_embedder(h.router)
    assert embedder is not None
    assert isinstance(embedder, Embedder)
    assert embedder.dimensions == DIMENSIONS
    assert embedder.name == f"{fake.kind}:{fake.default_models()['embed']}"
    texts = [f"chunk number {i} about refunds" for i in range(130)]  # > one Gemini batch
    vectors = h.run(embedder.embed(texts))
    assert vectors == [fake_embedding(t) for t in texts]
    assert h.run(embedder.embed([])) == []


def test_embedding_of_the_wrong_size_is_a_bad_response(tmp_path: Path) -> None:
    with FakeOpenAI(dimensions=4) as fake:
        h = harness(tmp_path, fake.config(embedding_dimensions=8))
        embedder = get_embedder(h.router)
        assert embedder is not None
        with pytest.raises(AIError) as caught:
            h.run(embedder.embed(["text"]))
    assert caught.value.code == "AI_BAD_RESPONSE"


def test_no_remote_embedder_without_one_configured(tmp_path: Path) -> None:
    with FakeAnthropic() as fake:
        h = harness(tmp_path, fake.config())
        assert get_embedder(h.router) is None
        assert get_reranker(h.router) is None
        assert get_transcriber(h.router) is None


def test_rerank(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        h = harness(tmp_path, fake.config())
        reranker = get_reranker(h.router)
        assert isinstance(reranker, Reranker)
        documents = ["Dogs bark at night", "Refund policy: refunds within 30 days", "Cats"]
        hits = h.run(reranker.rerank("what is the refund policy", documents, top_n=2))
    assert [hit.index for hit in hits] == [1, 0]
    assert fake.requests[0].json["top_n"] == 2


def test_transcribe(tmp_path: Path, fake: FakeProvider) -> None:
    if fake.kind == "anthropic":
        pytest.skip("Anthropic has no audio input")
    h = harness(tmp_path, fake.config())
    transcriber = get_transcriber(h.router)
    assert isinstance(transcriber, Transcriber)
    audio = b"RIFF\x00\x00\x00\x00WAVEfmt fake audio bytes"
    transcript = h.run(
        transcriber.transcribe(audio, filename="talk.wav", content_type="audio/wav", language="en")
    )
    assert transcript.text == "This is the fake transcript of the recording."
    assert transcript.provider == fake.kind
    sent = fake.requests[0]
    if fake.kind in ("openai", "azure"):
        assert sent.headers["content-type"].startswith("multipart/form-data")
        assert audio in sent.body
    else:
        inline = sent.json["contents"][0]["parts"][1]["inlineData"]
        assert inline["mimeType"] == "audio/wav"


def test_concurrent_calls_share_one_client(tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        h = harness(tmp_path, fake.config())

        async def many() -> list[str]:
            results = await asyncio.gather(
                *(
                    complete_chat(
                        h.router,
                        tenant_preference=None,
                        messages=[ChatMessage("user", f"question {i}")],
                    )
                    for i in range(20)
                )
            )
            return [r.text for r in results]

        texts = h.run(many())
    assert texts == [f"Fake openai answer to: question {i}" for i in range(20)]
