"""GET/PUT /api/tenant/ai-preferences on an app configured with fake providers; AI errors in the
API envelope; AI metrics on /metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.ai.fakes import FakeAnthropic, FakeOpenAI, ai_overrides
from tests.conftest import Account, Accounts, TestDatabase, error_code, make_settings
from tynebase.ai.chat import ChatMessage, complete_chat
from tynebase.ai.providers.registry import get_router
from tynebase.api.app import create_app
from tynebase.api.errors import install_error_handlers
from tynebase.settings import Settings

PATH = "/api/tenant/ai-preferences"


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeOpenAI, FakeAnthropic]]:
    with FakeOpenAI() as openai, FakeAnthropic() as anthropic:
        yield openai, anthropic


@pytest.fixture(scope="module")
def ai_settings(database: TestDatabase, fakes: tuple[FakeOpenAI, FakeAnthropic]) -> Settings:
    openai, anthropic = fakes
    return make_settings(
        database.base_dir,
        database.urls.owner,
        **ai_overrides(
            openai.config(allowed_models=["fake-chat-large"]),
            anthropic.config(),
            routes={"chat": ["openai", "anthropic"]},
            ai_max_retries=0,
        ),
    )


@pytest.fixture(scope="module")
def ai_client(ai_settings: Settings, database: TestDatabase) -> Iterator[TestClient]:
    with TestClient(create_app(ai_settings, database.urls), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def unchanging_admin(ai_client: TestClient, database: TestDatabase) -> Account:
    """One workspace for the tests that must leave its preferences as they are."""
    return Accounts(ai_client, database.urls.owner).signup()


@pytest.fixture
def ai_accounts(ai_client: TestClient, database: TestDatabase) -> Accounts:
    return Accounts(ai_client, database.urls.owner)


def test_admin_reads_the_options_and_the_effective_chain(ai_accounts: Accounts) -> None:
    admin = ai_accounts.signup()
    response = admin.get(PATH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["preferences"] == {
        t: None for t in ("chat", "generate", "embed", "rerank", "transcribe")
    }
    assert body["updated_at"] is None
    chat_options = {o["provider"]: o for o in body["available"]["chat"]}
    assert set(chat_options) == {"local", "openai", "anthropic"}
    assert chat_options["openai"]["models"] == ["fake-chat", "fake-chat-large"]
    assert chat_options["local"]["models"] == ["extractive"]
    assert [o["provider"] for o in body["available"]["embed"]] == ["openai"]
    assert body["effective"]["chat"] == {
        "chain": [
            {"provider": "openai", "model": "fake-chat", "stale": False},
            {"provider": "anthropic", "model": "fake-chat", "stale": False},
        ],
        "llm": True,
    }


def test_admin_replaces_the_preferences(ai_accounts: Accounts) -> None:
    admin = ai_accounts.signup()
    response = admin.request(
        "PUT",
        PATH,
        json={
            "chat": {"provider": "anthropic"},
            "generate": {"provider": "openai", "model": "fake-chat-large"},
        },
    )
    assert response.status_code == 200, response.text
    body = admin.get(PATH).json()
    assert body["preferences"]["chat"] == {"provider": "anthropic", "model": None, "stale": False}
    assert body["preferences"]["generate"]["model"] == "fake-chat-large"
    assert [c["provider"] for c in body["effective"]["chat"]["chain"]] == ["anthropic", "openai"]
    assert body["effective"]["generate"]["chain"][0]["model"] == "fake-chat-large"
    assert body["updated_at"] is not None

    local = admin.request("PUT", PATH, json={"chat": {"provider": "local"}}).json()
    assert local["effective"]["chat"]["llm"] is False
    assert local["preferences"]["generate"] is None  # PUT replaces the whole set

    cleared = admin.request("PUT", PATH, json={}).json()
    assert all(value is None for value in cleared["preferences"].values())


@pytest.mark.parametrize(
    "body",
    [
        {"chat": {"provider": "nope"}},
        {"chat": {"provider": "openai", "model": "gpt-unlisted"}},
        {"embed": {"provider": "anthropic"}},  # configured, but not for embeddings
        {"transcribe": {"provider": "local"}},
        {"chat": {"provider": "openai", "colour": "blue"}},
        {"summaries": {"provider": "openai"}},
        {"chat": {"provider": ""}},
    ],
)
def test_invalid_preferences_are_refused(
    unchanging_admin: Account, body: dict[str, object]
) -> None:
    admin = unchanging_admin
    response = admin.request("PUT", PATH, json=body)
    assert response.status_code == 400, response.text
    assert error_code(response) == "VALIDATION_ERROR"
    if "problems" in response.json()["error"]["details"]:  # checked against the configuration
        assert response.json()["error"]["details"]["problems"][0]["task"] in body
    assert admin.get(PATH).json()["preferences"]["chat"] is None


def test_only_admins(ai_accounts: Accounts) -> None:
    admin = ai_accounts.signup(tier="base")
    editor = ai_accounts.member(admin, "editor")
    for method in ("GET", "PUT"):
        response = editor.request(method, PATH, json={})
        assert response.status_code == 403, response.text
        assert error_code(response) == "INSUFFICIENT_ROLE"


def test_a_stale_preference_is_shown_and_ignored(
    ai_accounts: Accounts, owner_sql: psycopg.Connection[Any]
) -> None:
    admin = ai_accounts.signup()
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant_id,))
        owner_sql.execute(
            "INSERT INTO ai_preferences (tenant_id, task, provider) VALUES (%s, 'chat', 'removed')",
            (admin.tenant_id,),
        )
    body = admin.get(PATH).json()
    assert body["preferences"]["chat"] == {"provider": "removed", "model": None, "stale": True}
    assert body["effective"]["chat"]["chain"][0]["provider"] == "openai"


def test_ai_errors_in_the_envelope(
    fakes: tuple[FakeOpenAI, FakeAnthropic], ai_settings: Settings
) -> None:
    openai, anthropic = fakes
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/ask")
    async def ask() -> dict[str, str]:
        result = await complete_chat(
            ai_settings, tenant_preference=None, messages=[ChatMessage("user", "hi")]
        )
        return {"text": result.text}

    with TestClient(app) as client:
        openai.enqueue(openai.error(401))
        anthropic.enqueue(anthropic.error(429, retry_after=30))
        response = client.get("/ask")
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "AI_INVALID_CREDENTIALS"
    assert error["details"]["provider"] == "openai"
    assert error["details"]["upstream_status"] == 401
    assert [a["code"] for a in error["details"]["attempts"]] == [
        "AI_INVALID_CREDENTIALS",
        "AI_QUOTA_EXCEEDED",
    ]
    assert "fake-key" not in response.text


def test_ai_metrics_on_the_apps_metrics(ai_client: TestClient, ai_settings: Settings) -> None:
    async def call() -> None:
        router = get_router(ai_settings)
        try:
            await complete_chat(router, tenant_preference=None, messages=[ChatMessage("user", "x")])
        finally:
            await router.aclose()

    asyncio.run(call())
    text = ai_client.get("/metrics").text
    assert 'tynebase_ai_requests_total{outcome="success",provider="openai",task="chat"}' in text
    assert 'tynebase_ai_circuit_state{provider="openai"}' in text
    assert "tynebase_ai_request_duration_seconds_bucket" in text
