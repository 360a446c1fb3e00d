"""Fake AI provider servers (real HTTP on loopback) for any test that needs a provider.

from tests.ai.fakes import FakeAnthropic, FakeGemini, FakeOpenAI, Reply, ai_overrides
from tests.ai.fakes.fixtures import fake_openai  # a pytest fixture, import into a conftest
"""

from tests.ai.fakes.providers import (
    DIMENSIONS,
    FakeAnthropic,
    FakeGemini,
    FakeOpenAI,
    FakeProvider,
    ai_overrides,
    fake_embedding,
    sse_data,
    words_of,
)
from tests.ai.fakes.server import FakeServer, Reply, Request

__all__ = [
    "DIMENSIONS",
    "FakeAnthropic",
    "FakeGemini",
    "FakeOpenAI",
    "FakeProvider",
    "FakeServer",
    "Reply",
    "Request",
    "ai_overrides",
    "fake_embedding",
    "sse_data",
    "words_of",
]
