"""Chat with a language model (a fake OpenAI-compatible server on loopback): the prompt holds
the numbered passages, tokens stream through, citations are checked against the passages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ai.fakes.providers import FakeOpenAI, ai_overrides
from tests.conftest import Accounts, TestDatabase, make_settings
from tests.rag.conftest import answer_of, ask, create, publish, run_jobs
from tynebase.api.app import create_app
from tynebase.settings import Settings

POLICY = """# Laptops

Every laptop must use full-disk encryption. Lost laptops are reported to security within one
hour.
"""


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="module")
def llm_settings(database: TestDatabase, fake: FakeOpenAI) -> Settings:
    return make_settings(database.base_dir, database.urls.owner, **ai_overrides(fake.config()))


@pytest.fixture(scope="module")
def llm_client(llm_settings: Settings, database: TestDatabase) -> Iterator[TestClient]:
    app = create_app(llm_settings, database.urls)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_llm_answer_with_checked_citations(
    llm_client: TestClient, llm_settings: Settings, database: TestDatabase, fake: FakeOpenAI
) -> None:
    admin = Accounts(llm_client, database.urls.owner).signup(tier="base")
    doc = create(admin, "Security policy", POLICY)
    publish(admin, doc["id"])
    run_jobs(llm_settings, database)

    def answer(messages: list[dict[str, Any]]) -> str:
        # Cites the passage rightly, misquotes it once, and invents a passage number.
        return (
            'Laptops need "full-disk encryption" [1]. Report a lost one within a week '
            '"within one week" [1]. See also [9].'
        )

    fake.answer = answer
    events = ask(admin, "What must I do when I lose my laptop?")
    kind, text, cited = answer_of(events)
    assert kind == "llm"
    assert text == "".join(
        [
            'Laptops need "full-disk encryption" [1]. Report a lost one within a week ',
            '"within one week" [1]. See also [9].',
        ]
    )
    # [1] is used with a quote that is not in passage 1, [9] names no passage: both dropped.
    assert cited["dropped"] == [1, 9]
    assert cited["citations"] == []

    fake.answer = lambda _m: 'Encrypt the disk: "Every laptop must use full-disk encryption" [1].'
    kind, text, cited = answer_of(ask(admin, "Do laptops need disk encryption?"))
    assert kind == "llm"
    assert cited["dropped"] == []
    (first,) = cited["citations"]
    assert (first["n"], first["document_id"], first["version_number"]) == (1, doc["id"], 2)
    assert first["snippet"].startswith("Every laptop must use full-disk encryption")

    sent = fake.requests[-1].json
    system = sent["messages"][0]
    assert system["role"] == "system"
    assert (
        "[1] Security policy > Laptops\nEvery laptop must use full-disk encryption"
        in (system["content"])
    )
    assert sent["messages"][-1] == {"role": "user", "content": "Do laptops need disk encryption?"}
    assert sent["stream"] is True

    # Nothing relevant: the model is not asked at all.
    calls = len(fake.requests)
    kind, text, _ = answer_of(ask(admin, "Which wine pairs with grilled octopus?"))
    assert kind == "not_found"
    assert "not found in the knowledge base" in text.lower()
    assert len(fake.requests) == calls


def test_a_model_answer_costs_credits_once_and_a_failed_one_nothing(
    llm_client: TestClient, llm_settings: Settings, database: TestDatabase, fake: FakeOpenAI
) -> None:
    admin = Accounts(llm_client, database.urls.owner).signup(tier="base")
    doc = create(admin, "Security policy", POLICY)
    publish(admin, doc["id"])
    run_jobs(llm_settings, database)

    def chat_charges() -> list[dict[str, Any]]:
        items = admin.get("/api/credits").json()["history"]["items"]
        return [c for c in items if c["operation"] == "chat"]

    fake.answer = lambda _m: 'Encrypt it: "Every laptop must use full-disk encryption" [1].'
    assert answer_of(ask(admin, "Do laptops need disk encryption?"))[0] == "llm"
    (charge,) = chat_charges()
    assert (charge["status"], charge["credits"]) == ("committed", 0.1)

    fake.enqueue(fake.error(401))  # the model fails: the answer says so, the credits go back
    events = ask(admin, "Do laptops need disk encryption?")
    assert any(event == "error" for event, _ in events), events
    statuses = sorted(c["status"] for c in chat_charges())
    assert statuses == ["committed", "released"]
    credits = admin.get("/api/credits").json()
    assert (credits["used"], credits["reserved"]) == (0.1, 0)
