"""The crash test (AI-3, AI-4): 50 generation jobs while `tynebase worker` processes are
SIGKILLed at random moments and the provider fails at random (a seeded script). Every job ends
succeeded or failed, each succeeded job made exactly one draft, and the credits used equal the
price of the succeeded jobs: nothing is charged twice, nothing for a failure."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.ai.fakes import FakeOpenAI, Reply, Request, ai_overrides
from tests.ai.generation.helpers import credits_of, generate, job_of
from tests.conftest import TEST_SECRET, Accounts, TestDatabase, make_settings
from tests.files.conftest import through
from tynebase.api.app import create_app

pytestmark = pytest.mark.slow

SEED = 20261129
JOBS = 50
KILLS = 6
PRICE = {"article": 1.0, "summary": 0.5, "outline": 0.5, "template": 0.5}
REPO = Path(__file__).resolve().parents[3]


class ChaosOpenAI(FakeOpenAI):
    """Answers chat calls from a seeded script: mostly slow streamed drafts (so that workers die
    mid-answer), else one of the failures the provider layer classifies."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()

    def _route(self, request: Request) -> Reply:
        if request.path != "/v1/chat/completions":
            return super()._route(request)
        with self.lock:
            roll = self.rng.random()
        outcome, reply = self._pick(roll)
        with self.lock:
            self.outcomes[outcome] += 1
        return reply

    def _pick(self, roll: float) -> tuple[str, Reply]:
        if roll < 0.62:
            text = "# Chaos draft\n\n" + "Words that arrive slowly over the wire. " * 12
            pieces = [piece + ". " for piece in text.split(". ")]
            return "ok", self.paced_stream(pieces, pause=0.08)
        if roll < 0.70:
            return "500", self.error(500)
        if roll < 0.78:
            return "quota", self.error(429, kind="insufficient_quota")
        if roll < 0.84:
            return "401", self.error(401)
        if roll < 0.92:
            return "truncated", self.stream("# Cut\n\nhalf an answer", truncate=True)
        return "malformed", self.malformed()


@pytest.fixture
def chaos() -> Iterator[ChaosOpenAI]:
    with ChaosOpenAI(SEED) as fake:
        yield fake


def worker_env(database: TestDatabase, fake: ChaosOpenAI) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TYNEBASE_")}
    env.update(
        PYTHONPATH=str(REPO),
        DATABASE_URL=database.urls.owner,
        TYNEBASE_ENVIRONMENT="test",
        TYNEBASE_SECRET_KEY=TEST_SECRET,
        TYNEBASE_DATA_DIR=str(database.base_dir),
        TYNEBASE_AI_PROVIDERS=json.dumps([fake.config()]),
        TYNEBASE_AI_MAX_RETRIES="0",
        TYNEBASE_AI_TIMEOUT_SECONDS="10",
        TYNEBASE_AI_BREAKER_FAILURES="100000",
        TYNEBASE_WORKER_POLL_SECONDS="0.2",
        TYNEBASE_WORKER_HEARTBEAT_SECONDS="0.5",
        TYNEBASE_WORKER_STALLED_SECONDS="2",
        TYNEBASE_WORKER_SHUTDOWN_SECONDS="2",
        TYNEBASE_LOG_LEVEL="WARNING",
    )
    return env


def tenant_rows(owner_sql: psycopg.Connection[Any], tenant_id: str, query: str) -> list[Any]:
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        return list(owner_sql.execute(query).fetchall())


def test_sigkilled_workers_and_failing_providers_charge_exactly_the_successes(
    accounts: Accounts,
    database: TestDatabase,
    owner_sql: psycopg.Connection[Any],
    chaos: ChaosOpenAI,
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    settings = make_settings(
        database.base_dir,
        database.urls.owner,
        **ai_overrides(chaos.config(), ai_max_retries=0, ai_breaker_failures=100_000),
    )
    with TestClient(create_app(settings, database.urls), raise_server_exceptions=False) as client:
        account = through(accounts.signup(tier="pro"), client)
        kinds = {
            generate(account, kind, f"Chaos job {i}")["job_id"]: kind
            for i, kind in enumerate(rng.choice(list(PRICE)) for _ in range(JOBS))
        }
        assert credits_of(account)["reserved"] == sum(PRICE[k] for k in kinds.values())

        env = worker_env(database, chaos)
        logs: list[Path] = []

        def start() -> subprocess.Popen[bytes]:
            log = tmp_path / f"worker{len(logs)}.log"
            logs.append(log)
            with log.open("wb") as output:
                return subprocess.Popen(
                    [sys.executable, "-m", "tynebase", "worker", "--queue", "ai"],
                    cwd=REPO,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )

        def running() -> int:
            rows = tenant_rows(
                owner_sql, account.tenant_id, "SELECT count(*) FROM jobs WHERE status = 'running'"
            )
            return int(rows[0][0])

        workers = [(start(), time.monotonic()), (start(), time.monotonic())]
        kills = 0
        try:
            for _ in range(KILLS):
                # Strike while jobs are in flight (more than one worker's worth), a random
                # moment later, at a worker that has been up long enough to hold some.
                deadline = time.monotonic() + 30
                while running() < 5 and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(rng.uniform(0.1, 0.7))
                settled = [w for w in workers if time.monotonic() - w[1] > 2.5] or workers[:1]
                victim = rng.choice(settled)
                workers.remove(victim)
                victim[0].send_signal(signal.SIGKILL)
                victim[0].wait()
                kills += 1
                workers.append((start(), time.monotonic()))
            deadline = time.monotonic() + 90
            while True:
                states = {job_of(account, job)["status"] for job in kinds}
                if states <= {"succeeded", "failed"}:
                    break
                assert time.monotonic() < deadline, (states, logs[-1].read_text()[-2000:])
                time.sleep(0.25)
        finally:
            for worker, _ in workers:
                if worker.poll() is None:
                    worker.terminate()
            for worker, _ in workers:
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()

        jobs = {job_id: job_of(account, job_id) for job_id in kinds}
        succeeded = [j for j, job in jobs.items() if job["status"] == "succeeded"]
        failed = {j: job["error"]["code"] for j, job in jobs.items() if job["status"] == "failed"}
        assert len(succeeded) + len(failed) == JOBS
        assert succeeded, chaos.outcomes
        assert failed, chaos.outcomes
        assert set(failed.values()) <= {
            "AI_MODEL_UNAVAILABLE",
            "AI_QUOTA_EXCEEDED",
            "AI_INVALID_CREDENTIALS",
            "AI_BAD_RESPONSE",
            "WORKER_LOST",
        }, failed
        assert kills == KILLS
        # Workers did die mid-job: some jobs needed more than one run.
        assert any(job["attempts"] > 1 for job in jobs.values()), chaos.outcomes

        print(  # the figures, for `pytest -s`
            json.dumps(
                {
                    "jobs": JOBS,
                    "kills": kills,
                    "succeeded": len(succeeded),
                    "failed": dict(Counter(failed.values())),
                    "rerun_jobs": sum(1 for job in jobs.values() if job["attempts"] > 1),
                    "provider_replies": dict(chaos.outcomes),
                }
            )
        )
        # The money: exactly the successes, each once; nothing held any more.
        balance = credits_of(account)
        assert balance["used"] == sum(PRICE[kinds[j]] for j in succeeded)
        assert balance["reserved"] == 0
        charges = tenant_rows(
            owner_sql, account.tenant_id, "SELECT job_id::text, status FROM credit_charges"
        )
        by_job = {job_id: status for job_id, status in charges}
        assert len(charges) == JOBS  # one ledger row per job, whatever its retries
        assert {j for j, s in by_job.items() if s == "committed"} == set(succeeded)
        assert {j for j, s in by_job.items() if s == "released"} == set(failed)

        # The drafts: one per succeeded job, none from a failed or killed attempt.
        drafts = tenant_rows(
            owner_sql,
            account.tenant_id,
            "SELECT details->>'job_id' FROM document_lineage WHERE event = 'ai_generated'",
        )
        per_job = Counter(job_id for (job_id,) in drafts)
        assert set(per_job) == set(succeeded)
        assert set(per_job.values()) == {1}
