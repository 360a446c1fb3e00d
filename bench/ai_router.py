#!/usr/bin/env python3
"""AI provider layer benchmark: prints ONE JSON document on stdout (docs/PERFORMANCE.md,
section "AI provider layer").

1. Router overhead, two ways. Bookkeeping: the router around a provider that answers at once
   vs calling that provider directly (what the router itself costs per call). Over HTTP: the
   same chat completion against a loopback fake OpenAI-compatible server, through
   `complete_chat` (routing, breaker, retry bookkeeping, metrics, structured log,
   classification) and through a bare `httpx.AsyncClient.post` + JSON decode (the floor),
   interleaved in rounds so both see the same machine load; and streaming (the whole answer)
   through `stream_chat` vs a bare httpx SSE read.
2. Extractive text processing: summary, outline and answer over a ~20,000-word Markdown document,
   against the floor of merely splitting it into sentences (the parse every method needs).

Run: `.venv/bin/python bench/ai_router.py [--calls 400]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ai.fakes import FakeOpenAI, ai_overrides
from tests.conftest import make_settings

from tynebase.ai.chat import ChatMessage, complete_chat, stream_chat
from tynebase.ai.providers import extractive
from tynebase.ai.providers.base import ChatResult
from tynebase.ai.providers.config import AITask
from tynebase.ai.providers.registry import build_router
from tynebase.ai.providers.router import AIRouter

MESSAGES = [ChatMessage("system", "Be brief."), ChatMessage("user", "What is TyneBase?")]


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


async def _router_vs_floor(fake: FakeOpenAI, calls: int) -> dict[str, object]:
    settings = make_settings(Path(tempfile.mkdtemp()), None, **ai_overrides(fake.config()))
    router = build_router(settings)
    body = {
        "model": "fake-chat",
        "messages": [{"role": m.role, "content": m.content} for m in MESSAGES],
    }
    url = f"{fake.base_url}/chat/completions"
    results: dict[str, list[float]] = {k: [] for k in ("router", "floor", "stream", "sse_floor")}
    async with httpx.AsyncClient(timeout=30) as client:

        async def floor() -> None:
            response = await client.post(url, json=body, headers={"Authorization": "Bearer k"})
            response.raise_for_status()
            assert response.json()["choices"][0]["message"]["content"]

        async def routed() -> None:
            result = await complete_chat(router, tenant_preference=None, messages=MESSAGES)
            assert result.text

        async def streamed() -> None:
            assert await stream_chat(router, tenant_preference=None, messages=MESSAGES).text()

        async def sse_floor() -> None:
            request = {**body, "stream": True}
            async with client.stream("POST", url, json=request) as response:
                parts = [line async for line in response.aiter_lines() if line.startswith("data:")]
            assert parts[-1] == "data: [DONE]"

        for _ in range(20):  # warm both paths (connections, imports)
            await floor()
            await routed()
        for i in range(calls):
            # Alternate the order so neither always runs first in a round.
            pairs = [
                ("router", routed),
                ("floor", floor),
                ("stream", streamed),
                ("sse_floor", sse_floor),
            ]
            for name, call in pairs if i % 2 else reversed(pairs):
                started = time.perf_counter()
                await call()
                results[name].append(time.perf_counter() - started)
    await router.aclose()
    medians = {name: _median_ms(values) for name, values in results.items()}
    return {
        "calls_each": calls,
        "median_ms": medians,
        "ratio_router_to_floor": round(medians["router"] / medians["floor"], 3),
        "ratio_stream_to_sse_floor": round(medians["stream"] / medians["sse_floor"], 3),
        "overhead_ms_per_call": round(medians["router"] - medians["floor"], 3),
    }


class _Echo:
    """A provider that answers at once: what remains is the router's own bookkeeping."""

    name = "echo"
    kind = "openai"
    result = ChatResult(text="ok", provider="echo", model="m")

    def model_for(self, task: AITask) -> str | None:
        return "m"

    async def chat(self, **_: object) -> ChatResult:
        return self.result


async def _bookkeeping(calls: int) -> dict[str, object]:
    echo = _Echo()
    router = AIRouter(providers=[echo], routes={AITask.chat: ["echo"]})  # type: ignore[list-item]
    direct: list[float] = []
    routed: list[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        await echo.chat(model="m", messages=MESSAGES)
        direct.append(time.perf_counter() - started)
        started = time.perf_counter()
        await complete_chat(router, tenant_preference=None, messages=MESSAGES)
        routed.append(time.perf_counter() - started)
    return {
        "calls_each": calls,
        "median_us": {
            "direct": round(statistics.median(direct) * 1e6, 2),
            "router": round(statistics.median(routed) * 1e6, 2),
        },
        "overhead_us_per_call": round(
            (statistics.median(routed) - statistics.median(direct)) * 1e6, 2
        ),
    }


def _document(words: int) -> str:
    topics = ["billing", "onboarding", "security", "travel", "expenses", "hiring", "support"]
    lines: list[str] = ["# Company handbook", ""]
    written = 0
    section = 0
    while written < words:
        topic = topics[section % len(topics)]
        lines += [f"## {topic.title()} {section}", ""]
        for j in range(12):
            sentence = (
                f"The {topic} process step {j} requires the team to review item {section * 12 + j} "
                f"carefully and to record the {topic} outcome in the shared tracker."
            )
            lines.append(sentence)
            written += len(sentence.split())
        lines.append("")
        section += 1
    return "\n".join(lines)


def _extractive(rounds: int) -> dict[str, object]:
    text = _document(20_000)
    timings: dict[str, list[float]] = {
        "split_floor": [],
        "summary": [],
        "outline": [],
        "answer": [],
    }
    for _ in range(rounds):
        for name, run in (
            ("split_floor", lambda: extractive.parse(text)),
            ("summary", lambda: extractive.summarize(text)),
            ("outline", lambda: extractive.outline(text)),
            ("answer", lambda: extractive.answer("How is the security outcome recorded?", [text])),
        ):
            started = time.perf_counter()
            run()
            timings[name].append(time.perf_counter() - started)
    medians = {name: _median_ms(values) for name, values in timings.items()}
    return {
        "document_words": len(text.split()),
        "median_ms": medians,
        "ratio_to_split_floor": {
            name: round(medians[name] / medians["split_floor"], 2)
            for name in ("summary", "outline", "answer")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the router logs each call; keep stderr quiet
    with FakeOpenAI() as fake:
        router = asyncio.run(_router_vs_floor(fake, args.calls))
    bookkeeping = asyncio.run(_bookkeeping(args.calls * 10))
    report = {"router": router, "bookkeeping": bookkeeping, "extractive": _extractive(args.rounds)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
