"""Vertex AI with a service account: a signed JWT exchanged for access tokens at a token
endpoint, tokens cached until shortly before they expire, one refresh on a 401 - against a real
loopback token endpoint and Vertex's generateContent wire format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.ai.fakes import FakeGemini, Reply
from tests.ai.fakes.google import CLIENT_EMAIL, FakeGoogleToken
from tests.ai.providers.conftest import harness
from tests.conftest import make_settings
from tynebase.ai.chat import ChatMessage, complete_chat, stream_chat
from tynebase.ai.providers.errors import AIError
from tynebase.ai.providers.google_auth import REFRESH_MARGIN_SECONDS
from tynebase.ai.providers.registry import build_router

MESSAGES = [ChatMessage("user", "What is TyneBase?")]


@pytest.fixture
def fakes() -> Iterator[tuple[FakeGemini, FakeGoogleToken]]:
    with FakeGemini(vertex=True) as vertex, FakeGoogleToken(vertex) as tokens:
        yield vertex, tokens


def _config(vertex: FakeGemini, tokens: FakeGoogleToken, **extra: Any) -> dict[str, Any]:
    return vertex.config(
        api_key=None,
        service_account_json=json.dumps(tokens.service_account_info()),
        **extra,
    )


def _bearer(vertex: FakeGemini) -> list[str]:
    return [r.headers["authorization"] for r in vertex.requests]


def test_service_account_file_signs_a_jwt_and_caches_the_token(
    tmp_path: Path, fakes: tuple[FakeGemini, FakeGoogleToken]
) -> None:
    vertex, tokens = fakes
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(tokens.service_account_info()))
    config = vertex.config(api_key=None, service_account_file=str(key_file))
    h = harness(tmp_path, config, ai_max_retries=0)

    async def two_calls() -> list[str]:
        first = await complete_chat(h.router, tenant_preference=None, messages=MESSAGES)
        stream = stream_chat(h.router, tenant_preference=None, messages=MESSAGES)
        second = "".join([delta async for delta in stream])
        return [first.text, second]

    answers = h.run(two_calls())
    assert answers == [vertex.answer([{"role": "user", "content": "What is TyneBase?"}])] * 2
    # One exchange, its token used by both calls (the JSON's token_uri was the endpoint).
    assert tokens.issued == ["ya29.fake-1"]
    assert _bearer(vertex) == ["Bearer ya29.fake-1"] * 2
    (claims,) = tokens.assertions
    assert claims["iss"] == CLIENT_EMAIL
    assert claims["aud"] == tokens.token_url
    assert tokens.requests[0].headers["content-type"] == "application/x-www-form-urlencoded"


def test_token_renewed_shortly_before_expiry(
    tmp_path: Path, fakes: tuple[FakeGemini, FakeGoogleToken]
) -> None:
    vertex, tokens = fakes
    h = harness(tmp_path, _config(vertex, tokens, token_url=tokens.token_url), ai_max_retries=0)

    def chat() -> None:
        h.run(complete_chat(h.router, tenant_preference=None, messages=MESSAGES))

    chat()
    h.clock.advance(3600 - REFRESH_MARGIN_SECONDS - 1)  # still inside the margin: reused
    chat()
    h.clock.advance(2)  # now within REFRESH_MARGIN_SECONDS of expiry: renewed
    chat()
    assert tokens.issued == ["ya29.fake-1", "ya29.fake-2"]
    assert _bearer(vertex) == ["Bearer ya29.fake-1"] * 2 + ["Bearer ya29.fake-2"]


def test_a_401_refreshes_the_token_once(
    tmp_path: Path, fakes: tuple[FakeGemini, FakeGoogleToken]
) -> None:
    vertex, tokens = fakes
    h = harness(tmp_path, _config(vertex, tokens), ai_max_retries=0)

    async def calls() -> None:
        await complete_chat(h.router, tenant_preference=None, messages=MESSAGES)
        tokens.revoke_all()  # the cached token is refused from now on
        await complete_chat(h.router, tenant_preference=None, messages=MESSAGES)
        tokens.revoke_all()
        stream = stream_chat(h.router, tenant_preference=None, messages=MESSAGES)
        assert [delta async for delta in stream]

    h.run(calls())
    assert tokens.issued == ["ya29.fake-1", "ya29.fake-2", "ya29.fake-3"]
    assert [r.path.rsplit(":", 1)[1] for r in vertex.requests] == [
        "generateContent",
        "generateContent",  # 401
        "generateContent",
        "streamGenerateContent",  # 401
        "streamGenerateContent",
    ]
    assert _bearer(vertex)[1:3] == ["Bearer ya29.fake-1", "Bearer ya29.fake-2"]


def test_a_401_with_a_fresh_token_is_invalid_credentials(
    tmp_path: Path, fakes: tuple[FakeGemini, FakeGoogleToken]
) -> None:
    vertex, tokens = fakes
    h = harness(tmp_path, _config(vertex, tokens), ai_max_retries=0)
    vertex.enqueue(vertex.error(401, kind="UNAUTHENTICATED"), vertex.error(401))
    with pytest.raises(AIError) as caught:
        h.run(complete_chat(h.router, tenant_preference=None, messages=MESSAGES))
    assert (caught.value.code, caught.value.upstream_status) == ("AI_INVALID_CREDENTIALS", 401)
    assert len(tokens.issued) == 2  # one refresh, no more
    assert len(vertex.requests) == 2


@pytest.mark.parametrize(
    ("reply", "code", "reason"),
    [
        ("invalid_grant", "AI_INVALID_CREDENTIALS", "invalid_grant"),
        ("invalid_client", "AI_INVALID_CREDENTIALS", "invalid_client"),
        ("503", "AI_MODEL_UNAVAILABLE", "upstream_error"),
        ("no token", "AI_BAD_RESPONSE", "token_response"),
    ],
)
def test_token_endpoint_failures_are_classified(
    tmp_path: Path,
    fakes: tuple[FakeGemini, FakeGoogleToken],
    reply: str,
    code: str,
    reason: str,
) -> None:
    vertex, tokens = fakes
    replies = {
        "invalid_grant": tokens.invalid_grant("Invalid JWT Signature."),
        "invalid_client": Reply.json({"error": "invalid_client"}, status=401),
        "503": Reply.json({"error": "unavailable"}, status=503),
        "no token": Reply.json({"token_type": "Bearer"}),
    }
    tokens.enqueue(replies[reply])
    h = harness(tmp_path, _config(vertex, tokens), ai_max_retries=0)
    with pytest.raises(AIError) as caught:
        h.run(complete_chat(h.router, tenant_preference=None, messages=MESSAGES))
    error = caught.value
    assert (error.code, error.reason, error.provider) == (code, reason, "vertex")
    assert error.details["step"] == "token"  # getting a token failed, not the model call
    assert vertex.requests == []  # the model was never called without a token
    if code == "AI_INVALID_CREDENTIALS":
        assert CLIENT_EMAIL in error.message
        assert error.status == 502


def test_a_bad_signature_is_refused_by_the_endpoint(
    tmp_path: Path, fakes: tuple[FakeGemini, FakeGoogleToken]
) -> None:
    """A key that is not the account's (rotated, pasted wrongly) fails as invalid_grant."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    vertex, tokens = fakes
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info = tokens.service_account_info()
    info["private_key"] = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    h = harness(tmp_path, vertex.config(api_key=None, service_account_json=json.dumps(info)))
    with pytest.raises(AIError) as caught:
        h.run(complete_chat(h.router, tenant_preference=None, messages=MESSAGES))
    assert (caught.value.code, caught.value.reason) == ("AI_INVALID_CREDENTIALS", "invalid_grant")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"service_account_json": "{}"}, "must be a service account key"),
        ({"service_account_json": "{", "api_key": None}, "must be a service account key"),
        (
            {"service_account_json": '{"client_email": "a", "private_key": "b"}', "api_key": "t"},
            "not both",
        ),
        ({"service_account_file": "/x.json", "service_account_json": "{}"}, "not both"),
        ({"token_url": "http://127.0.0.1:1/token"}, "token_url needs a service account"),
    ],
)
def test_settings_refused_at_start(tmp_path: Path, extra: dict[str, Any], message: str) -> None:
    entry = {"name": "v", "kind": "vertex", "base_url": "http://127.0.0.1:1/v1", "api_key": None}
    entry.update(extra)
    with pytest.raises(ValidationError, match=message):
        make_settings(tmp_path, None, ai_providers=[{**entry, "models": {"chat": "m"}}])


def test_service_account_only_for_vertex(tmp_path: Path) -> None:
    entry = {"name": "g", "kind": "gemini", "service_account_file": "/x.json"}
    with pytest.raises(ValidationError, match="for kind vertex only"):
        make_settings(tmp_path, None, ai_providers=[{**entry, "models": {"chat": "m"}}])


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read service_account_file"), ('{"client_email": 1}', "not a service")],
)
def test_unusable_key_file_stops_the_start(
    tmp_path: Path, content: str | None, message: str
) -> None:
    key_file = tmp_path / "sa.json"
    if content is not None:
        key_file.write_text(content)
    entry = {
        "name": "v",
        "kind": "vertex",
        "base_url": "http://127.0.0.1:1/v1",
        "service_account_file": str(key_file),
        "models": {"chat": "m"},
    }
    settings = make_settings(tmp_path, None, ai_providers=[entry])
    with pytest.raises(ValueError, match=message) as caught:
        build_router(settings)
    assert "'v'" in str(caught.value)  # names the provider
