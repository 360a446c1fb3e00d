"""TYNEBASE_AI_PROVIDERS / TYNEBASE_AI_ROUTES: parsed from the environment, validated at start
with a clear message, secrets kept out of reprs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from tests.conftest import make_settings
from tynebase.ai.providers.config import AITask
from tynebase.ai.providers.registry import build_router, default_routes, get_router
from tynebase.settings import Settings


def _settings(tmp_path: Path, **values: Any) -> Settings:
    return make_settings(tmp_path, None, **values)


def test_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    providers = [
        {"name": "oai", "kind": "openai", "api_key": "sk-secret-1", "models": {"chat": "m"}},
        {
            "name": "gem",
            "kind": "gemini",
            "api_key": "g-secret-2",
            "models": {"embed": "gemini-embedding-001"},
        },
    ]
    monkeypatch.setenv("TYNEBASE_AI_PROVIDERS", orjson.dumps(providers).decode())
    monkeypatch.setenv("TYNEBASE_AI_ROUTES", '{"chat": ["oai", "local"]}')
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert [p.name for p in settings.ai_providers] == ["oai", "gem"]
    assert settings.ai_providers[1].dimensions == 3072  # a known model
    assert settings.ai_routes == {AITask.chat: ["oai", "local"]}
    for secret in ("sk-secret-1", "g-secret-2"):
        assert secret not in repr(settings)
    router = build_router(settings)
    assert router.chain(AITask.chat) == [("oai", "m"), ("local", "extractive")]
    assert router.chain(AITask.embed) == [("gem", "gemini-embedding-001")]
    assert router.chain(AITask.generate) == [("local", "extractive")]
    assert get_router(settings) is get_router(settings)  # one per settings and process


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"ai_providers": [{"name": "x", "kind": "anthropic", "models": {"embed": "e"}}]},
            "cannot serve: embed",
        ),
        (
            {"ai_providers": [{"name": "x", "kind": "azure", "models": {"chat": "d"}}]},
            "needs base_url",
        ),
        (
            {"ai_providers": [{"name": "x", "kind": "openai", "models": {"embed": "custom"}}]},
            "embedding_dimensions",
        ),
        (
            {"ai_providers": [{"name": "x", "kind": "openai"}, {"name": "x", "kind": "anthropic"}]},
            "unique",
        ),
        ({"ai_providers": [{"name": "Bad Name", "kind": "openai"}]}, "pattern"),
        ({"ai_providers": [{"name": "x", "kind": "local"}]}, "built in"),
        ({"ai_providers": [{"name": "x", "kind": "openai", "modles": {}}]}, "Extra inputs"),
        ({"ai_routes": {"chat": ["ghost"]}}, "unknown provider 'ghost'"),
        ({"ai_routes": {"embed": ["local"]}}, "local cannot serve embed"),
        (
            {
                "ai_providers": [{"name": "x", "kind": "openai", "models": {"chat": "m"}}],
                "ai_routes": {"transcribe": ["x"]},
            },
            "has no model for transcribe",
        ),
    ],
)
def test_invalid_configuration_is_refused(
    tmp_path: Path, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _settings(tmp_path, **values)


def test_default_routes_follow_the_list_order(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        ai_providers=[
            {"name": "b", "kind": "anthropic", "models": {"chat": "c1"}},
            {"name": "a", "kind": "openai", "models": {"chat": "c2", "rerank": "r"}},
        ],
    )
    routes = default_routes(settings.ai_providers)
    assert routes[AITask.chat] == ["b", "a"]
    assert routes[AITask.rerank] == ["a"]
    assert routes[AITask.generate] == ["local"]
    assert routes[AITask.transcribe] == []
