from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.ai.fakes import ai_overrides
from tests.ai.generation.helpers import ScriptedOpenAI
from tests.conftest import TestDatabase, make_settings
from tynebase.api.app import create_app
from tynebase.settings import Settings


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def llm_settings(llm: ScriptedOpenAI, database: TestDatabase) -> Settings:
    """An OpenAI-compatible provider (the fake) for every task; no retries, no breaker (the
    failure tests would open it for the others). The timeout is generous: the machine may be
    busy; `impatient_settings` has a short one."""
    return make_settings(
        database.base_dir,
        database.urls.owner,
        **ai_overrides(
            llm.config(), ai_max_retries=0, ai_timeout_seconds=10.0, ai_breaker_failures=10_000
        ),
    )


@pytest.fixture(scope="module")
def llm_client(llm_settings: Settings, database: TestDatabase) -> Iterator[TestClient]:
    with TestClient(create_app(llm_settings, database.urls), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def impatient_settings(llm: ScriptedOpenAI, database: TestDatabase) -> Settings:
    """As `llm_settings`, with a half-second timeout (for workers that must give up)."""
    return make_settings(
        database.base_dir,
        database.urls.owner,
        **ai_overrides(
            llm.config(), ai_max_retries=0, ai_timeout_seconds=0.5, ai_breaker_failures=10_000
        ),
    )
