"""`tynebase doctor` names the AI failure (issue 7): a live API whose provider answers 401, then
one whose provider answers 429, each proven by the finding's cause and remedy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.ai.fakes.providers import FakeOpenAI, ai_overrides
from tests.conftest import make_settings
from tests.ops.conftest import OpsWorld, live_api
from tests.ops.test_doctor import doctor, finding

CALLS = 12  # above the doctor's minimum sample (AI_MIN_CALLS)


@contextmanager
def live_api_with(ops: OpsWorld, fake: FakeOpenAI) -> Iterator[str]:
    """The ops database served by uvicorn, with `fake` as its only AI provider."""
    settings = make_settings(
        ops.data_dir,
        ops.urls.owner,
        **ai_overrides(fake.config(), ai_max_retries=0, ai_breaker_failures=CALLS // 2),
    )
    with live_api(ops, settings) as url:
        yield url


@pytest.mark.parametrize(
    ("status", "cause", "remedy"),
    [(401, "invalid credentials", "API key"), (429, "quota exceeded", "quota")],
)
def test_doctor_names_the_provider_failure(
    ops: OpsWorld, status: int, cause: str, remedy: str
) -> None:
    admin = ops.accounts.signup(tier="base")
    with FakeOpenAI() as fake, live_api_with(ops, fake) as url:
        fake.enqueue(*[fake.error(status) for _ in range(CALLS)])
        with httpx.Client(base_url=url, headers=admin.headers, timeout=30) as client:
            document = client.post(
                "/api/documents", json={"title": "Draft", "body": "# Draft\n\nSome text here."}
            ).json()
            codes = set()
            for _ in range(CALLS):
                answer = client.post("/api/ai/enhance", json={"document_id": document["id"]})
                codes.add(answer.json()["error"]["code"])
        assert codes <= {
            "AI_INVALID_CREDENTIALS" if status == 401 else "AI_QUOTA_EXCEEDED",
            "AI_MODEL_UNAVAILABLE",  # once the breaker is open
        }, codes
        exit_code, report = doctor(ops, url, "--check", "ai")
    ai = finding(report, "ai")
    assert exit_code == 2
    assert ai["status"] == "fail"
    assert cause in ai["summary"], ai
    assert remedy in ai["action"], ai
    assert ai["runbook"].endswith("#34-ai-failures")
