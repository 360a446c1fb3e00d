"""A scriptable OpenAI-compatible fake (answers chosen by a marker in the prompt, so jobs left
in the queue by other tests never take a reply meant for this one), and job runners."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from tests.ai.fakes import FakeOpenAI, Reply, Request
from tests.conftest import Account, TestDatabase
from tynebase.db.engine import Database
from tynebase.settings import Settings
from tynebase.workers.worker import run_until_idle

AI_QUEUE = "ai"
Script = Callable[[Request], Reply]


class ScriptedOpenAI(FakeOpenAI):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._scripts: dict[str, Script] = {}
        self._script_lock = threading.Lock()

    def on(self, marker: str, script: Script) -> None:
        """Answer every request whose body contains `marker` with `script(request)`."""
        with self._script_lock:
            self._scripts[marker] = script

    def _route(self, request: Request) -> Reply:
        body = request.body.decode("utf-8", "replace")
        with self._script_lock:
            scripted = [s for marker, s in self._scripts.items() if marker in body]
        if scripted:
            return scripted[0](request)
        return super()._route(request)

    def answering(self, text: str, *, pause: float | None = None, pieces: int = 0) -> Script:
        """A streamed (or plain) completion of `text`; with `pause`, cut into `pieces` chunks
        sent that many seconds apart (a model that takes its time)."""

        def script(request: Request) -> Reply:
            if not request.json.get("stream"):
                return Reply.json(self.completion(text))
            if pause is None:
                return self.stream(text)
            size = max(1, len(text) // max(1, pieces))
            chunks = [text[start : start + size] for start in range(0, len(text), size)]
            return self.paced_stream(chunks, pause=pause)

        return script


def run_ai_jobs(settings: Settings, database: TestDatabase) -> None:
    """What a worker does with the AI queue: run every job ready now, then return."""

    async def main() -> None:
        db = Database(database.urls, settings)
        try:
            await run_until_idle(settings, db, queues=[AI_QUEUE])
        finally:
            await db.dispose()

    asyncio.run(main())


def finished_job(
    settings: Settings, database: TestDatabase, account: Account, job_id: str
) -> dict[str, Any]:
    """Run the AI queue as a worker would, then read the job as `account` sees it."""
    run_ai_jobs(settings, database)
    return job_of(account, job_id)


def job_of(account: Account, job_id: str) -> dict[str, Any]:
    response = account.get(f"/api/jobs/{job_id}")
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()
    return job


def generate(account: Account, kind: str, prompt: str, **options: Any) -> dict[str, Any]:
    response = account.post(
        "/api/ai/generate", json={"kind": kind, "prompt": prompt, "options": options}
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def credits_of(account: Account) -> dict[str, Any]:
    response = account.get("/api/credits")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
