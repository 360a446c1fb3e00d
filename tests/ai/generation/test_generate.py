"""AI generation (AI-4) through the API and the job: drafts with lineage, real progress, the
extractive fallback labelled as such, provider failures with their codes, consent, credits and
the AI rate limit."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.ai.fakes import Reply
from tests.ai.generation.helpers import (
    ScriptedOpenAI,
    credits_of,
    finished_job,
    generate,
    job_of,
)
from tests.conftest import Account, Accounts, TestDatabase, error_code, make_settings, unique
from tests.files.conftest import through
from tests.jobs.helpers import worker_thread
from tynebase.ai.generation import EXTRACTIVE_LABEL
from tynebase.api.app import create_app
from tynebase.settings import Settings

ARTICLE = (
    "# Onboarding a new engineer\n\n"
    "Welcome to the team. This guide covers the first week.\n\n"
    "## Day one\n\nGet a laptop and a badge.\n"
)


def lineage_of(account: Account, document_id: str) -> list[dict[str, Any]]:
    response = account.get(f"/api/documents/{document_id}/lineage")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_generates_an_article_draft_with_lineage_and_one_charge(
    admin: Account,
    llm: ScriptedOpenAI,
    llm_client: TestClient,
    llm_settings: Settings,
    database: TestDatabase,
) -> None:
    account = through(admin, llm_client)
    marker = unique("article-")
    llm.on(marker, llm.answering(ARTICLE))
    started = generate(account, "article", f"Write the onboarding guide {marker}", tone="warm")
    assert (started["status"], started["kind"]) == ("queued", "ai.generate")
    assert (started["provider"], started["model"], started["credits_reserved"]) == (
        "openai",
        "fake-chat",
        1,
    )
    assert credits_of(account)["reserved"] == 1

    job = finished_job(llm_settings, database, account, started["job_id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == 100
    result = job["result"]
    assert (result["provider"], result["model"], result["extractive"]) == (
        "openai",
        "fake-chat",
        False,
    )
    document = account.get(f"/api/documents/{result['document_id']}").json()
    assert document["title"] == "Onboarding a new engineer"
    assert document["status"] == "draft"
    assert document["body"].startswith("Welcome to the team.")
    assert "## Day one" in document["body"]
    [entry] = lineage_of(account, document["id"])
    assert entry["event"] == "ai_generated"
    details = entry["details"]
    assert (details["provider"], details["model"], details["kind"]) == (
        "openai",
        "fake-chat",
        "article",
    )
    assert details["prompt"] == f"Write the onboarding guide {marker}"
    assert details["options"]["tone"] == "warm"
    # What the model was asked: the kind's instructions, the tone, the prompt.
    sent = next(r.json for r in llm.requests if marker in r.body.decode())
    assert "knowledge-base article" in sent["messages"][0]["content"]
    assert "Tone: warm." in sent["messages"][0]["content"]
    assert sent["messages"][-1]["content"].endswith(marker)
    balance = credits_of(account)
    assert (balance["used"], balance["reserved"]) == (1, 0)
    [charge] = [i for i in balance["history"]["items"] if i["job_id"] == started["job_id"]]
    assert (charge["status"], charge["operation"], charge["credits"]) == (
        "committed",
        "generate.article",
        1,
    )


def test_progress_follows_the_text_received(
    admin: Account,
    llm: ScriptedOpenAI,
    llm_client: TestClient,
    llm_settings: Settings,
    database: TestDatabase,
) -> None:
    account = through(admin, llm_client)
    marker = unique("slow-")
    text = "# Slow draft\n\n" + "A sentence that takes its time to arrive. " * 40
    llm.on(marker, llm.answering(text, pause=0.08, pieces=30))
    started = generate(account, "summary", f"Summarise {marker}", length="short")
    seen: list[int] = []
    with worker_thread(llm_settings, database.urls, queues=("ai",)):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = job_of(account, started["job_id"])
            seen.append(job["progress"])
            if job["status"] in {"succeeded", "failed"}:
                break
            time.sleep(0.03)
    assert job["status"] == "succeeded", job
    writing = sorted({p for p in seen if 15 < p < 100})
    # Several steps in between, rising with the text (not a jump from start to done).
    assert len(writing) >= 3, seen
    assert seen == sorted(seen), seen


def test_without_a_model_the_extractive_draft_says_so(
    admin: Account, settings: Settings, database: TestDatabase
) -> None:
    source = admin.post(
        "/api/documents",
        json={
            "title": "Release process",
            "body": "# Release process\n\nWe release every Tuesday after the tests pass. "
            "The release manager tags the build. Rollbacks use the previous tag.\n\n"
            "## Hotfixes\n\nHotfixes skip the Tuesday train but need two reviews.",
        },
    ).json()
    started = generate(
        admin, "summary", "Summarise our release process", document_ids=[source["id"]]
    )
    assert (started["provider"], started["model"], started["credits_reserved"]) == (
        "local",
        "extractive",
        0,
    )
    job = finished_job(settings, database, admin, started["job_id"])
    assert job["status"] == "succeeded", job
    assert job["result"]["extractive"] is True
    document = admin.get(f"/api/documents/{job['result']['document_id']}").json()
    assert document["body"].startswith(EXTRACTIVE_LABEL)
    assert "release every Tuesday" in document["body"]
    [entry] = lineage_of(admin, document["id"])
    assert (entry["details"]["provider"], entry["details"]["extractive"]) == ("local", True)
    assert credits_of(admin)["used"] == 0  # the offline provider is free


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (lambda f: f.error(401), "AI_INVALID_CREDENTIALS"),
        (lambda f: f.error(429, kind="insufficient_quota"), "AI_QUOTA_EXCEEDED"),
        (lambda f: f.error(404), "AI_MODEL_UNAVAILABLE"),
        (lambda f: f.stream("# Cut\n\nhalf of it", truncate=True), "AI_BAD_RESPONSE"),
        (lambda f: f.slow(2.0), "AI_TIMEOUT"),  # run by a worker with a 0.5 s timeout
    ],
)
def test_provider_failures_fail_the_job_with_their_code_and_cost_nothing(
    admin: Account,
    llm: ScriptedOpenAI,
    llm_client: TestClient,
    llm_settings: Settings,
    impatient_settings: Settings,
    database: TestDatabase,
    reply: Any,
    code: str,
) -> None:
    account = through(admin, llm_client)
    marker = unique("fail-")
    scripted: Reply = reply(llm)
    llm.on(marker, lambda _request: scripted)
    started = generate(account, "outline", f"Outline {marker}")
    assert credits_of(account)["reserved"] == 0.5
    job = finished_job(
        impatient_settings if code == "AI_TIMEOUT" else llm_settings,
        database,
        account,
        started["job_id"],
    )
    assert (job["status"], job["error"]["code"]) == ("failed", code), job
    assert job["dead_letter"] is True
    balance = credits_of(account)
    assert (balance["used"], balance["reserved"]) == (0, 0)
    [charge] = [i for i in balance["history"]["items"] if i["job_id"] == started["job_id"]]
    assert (charge["status"], charge["release_reason"]) == ("released", "job_failed")


def test_consent_is_required_for_ai_features(
    admin: Account,
    accounts: Accounts,
    llm_client: TestClient,
    llm_settings: Settings,
    database: TestDatabase,
) -> None:
    account = through(admin, llm_client)
    started = generate(account, "article", "Queued before the consent was withdrawn")
    account.request("PUT", "/api/me/consents", json={"ai_processing": False})
    document = account.post("/api/documents", json={"title": "Mine", "body": "text"}).json()
    for path, body in (
        ("/api/ai/generate", {"kind": "article", "prompt": "hi"}),
        ("/api/ai/enhance", {"document_id": document["id"]}),
        ("/api/ai/transcribe", {"file_id": document["id"]}),
    ):
        response = account.post(path, json=body)
        assert response.status_code == 403, (path, response.text)
        assert error_code(response) == "CONSENT_REQUIRED"
        assert response.json()["error"]["details"] == {"consent": "ai_processing"}
    job = finished_job(llm_settings, database, account, started["job_id"])
    assert (job["status"], job["error"]["code"]) == ("failed", "CONSENT_REQUIRED")
    # Allowed again: it works again.
    account.request("PUT", "/api/me/consents", json={"ai_processing": True})
    generate(account, "article", "And now again")


def test_the_job_runs_as_its_author_and_stops_if_they_left(
    admin: Account,
    accounts: Accounts,
    llm_client: TestClient,
    llm_settings: Settings,
    database: TestDatabase,
) -> None:
    editor = through(accounts.member(admin, "editor"), llm_client)
    started = generate(editor, "template", "A template for postmortems")
    assert admin.request("DELETE", f"/api/users/{editor.user_id}").status_code == 204
    job = finished_job(llm_settings, database, through(admin, llm_client), started["job_id"])
    assert (job["status"], job["error"]["code"]) == ("failed", "AI_USER_GONE")
    assert credits_of(admin)["reserved"] == 0


def test_insufficient_credits_refuses_generation(
    accounts: Accounts, llm_client: TestClient, owner_sql: psycopg.Connection[Any]
) -> None:
    account = through(accounts.signup(tier="free"), llm_client)
    for i in range(10):
        generate(account, "article", f"Article number {i}")
    response = account.post("/api/ai/generate", json={"kind": "article", "prompt": "one more"})
    assert (response.status_code, error_code(response)) == (403, "INSUFFICIENT_CREDITS")
    assert response.json()["error"]["details"]["available"] == 0
    # Nothing was queued for the refused request.
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (account.tenant_id,))
        row = owner_sql.execute("SELECT count(*) FROM jobs WHERE kind = 'ai.generate'").fetchone()
    assert row == (10,)


def test_requests_are_checked(admin: Account, accounts: Accounts, other_admin: Account) -> None:
    for body in (
        {"kind": "poem", "prompt": "x"},
        {"kind": "article", "prompt": ""},
        {"kind": "article", "prompt": "x", "options": {"length": "epic"}},
        {"kind": "article", "prompt": "x", "options": {"unknown": 1}},
        {"kind": "article", "prompt": "nul \u0000 inside"},
    ):
        response = admin.post("/api/ai/generate", json=body)
        assert (response.status_code, error_code(response)) == (400, "VALIDATION_ERROR"), body
    # A lone surrogate (sent raw: the client library cannot even encode it).
    response = admin.post(
        "/api/ai/generate",
        content=rb'{"kind": "article", "prompt": "x", "options": {"tone": "\ud800"}}',
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, error_code(response)) == (400, "VALIDATION_ERROR")
    viewer = accounts.member(admin, "viewer")
    response = viewer.post("/api/ai/generate", json={"kind": "article", "prompt": "x"})
    assert (response.status_code, error_code(response)) == (403, "INSUFFICIENT_ROLE")
    theirs = other_admin.post("/api/documents", json={"title": "B's", "body": "b"}).json()
    response = admin.post(
        "/api/ai/generate",
        json={"kind": "summary", "prompt": "x", "options": {"document_ids": [theirs["id"]]}},
    )
    assert (response.status_code, error_code(response)) == (404, "DOCUMENT_NOT_FOUND")


def test_ai_routes_have_their_own_rate_limit(
    admin: Account, database: TestDatabase, settings: Settings
) -> None:
    limited = make_settings(
        database.base_dir, database.urls.owner, rate_limit_ai_per_tenant="2/minute"
    )
    with TestClient(create_app(limited, database.urls), raise_server_exceptions=False) as client:
        account = through(admin, client)
        for _ in range(2):
            generate(account, "outline", "an outline")
        response = account.post("/api/ai/generate", json={"kind": "outline", "prompt": "more"})
        assert (response.status_code, error_code(response)) == (429, "RATE_LIMITED")
        assert response.headers["Retry-After"]
        assert response.json()["error"]["details"] == {"limit": "ai_per_tenant"}
        # Other routes of the workspace are not held back.
        assert account.get("/api/credits").status_code == 200


def test_generation_jobs_do_not_block_each_other(
    admin: Account, llm_client: TestClient, llm_settings: Settings, database: TestDatabase
) -> None:
    """Several generations of one tenant run side by side and each is charged once."""
    account = through(admin, llm_client)
    jobs = [generate(account, "summary", f"Summary {i}")["job_id"] for i in range(4)]
    done = threading.Event()
    with worker_thread(llm_settings, database.urls, queues=("ai",)):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not done.is_set():
            states = {job_of(account, j)["status"] for j in jobs}
            if states <= {"succeeded", "failed"}:
                done.set()
            time.sleep(0.05)
    assert {job_of(account, j)["status"] for j in jobs} == {"succeeded"}
    assert credits_of(account)["used"] == 2
