"""A 30-second database outage under traffic (issue 7): `/readyz` fails at once, requests fail
fast with 503 DATABASE_UNAVAILABLE instead of hanging, the service recovers without a restart
(API and in-process job worker), and no acknowledged write is lost.

The outage is real: the embedded PostgreSQL of a live `tynebase serve` is stopped with `pg_ctl`
and started again later on the same socket, as a crashed or restarted database server would be.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.ops.test_serve import PASSWORD, _free_port, _wait_ready, serve_env

OUTAGE_SECONDS = 30
# A request that takes longer than this has hung (the server's own bounds are a few seconds).
HANG_SECONDS = 20


@dataclass
class Live:
    base: str
    data_dir: Path
    process: subprocess.Popen[str]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"

    def pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        user = "pgserver" if os.geteuid() == 0 else None  # as pgserver runs it
        pg_ctl(list(args), pgdata=self.pgdata, user=user, timeout=60)

    def stop_database(self) -> str:
        """Stop postgres (fast shutdown: sessions are cut); returns its socket directory."""
        socket_dir = (self.pgdata / "postmaster.pid").read_text().splitlines()[4]
        self.pg_ctl("-w", "-m", "fast", "stop")
        return socket_dir

    def start_database(self, socket_dir: str) -> None:
        self.pg_ctl(
            "-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self.pgdata / "log"), "start"
        )


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    data_dir = Path(tempfile.mkdtemp(prefix="tbo", dir="/tmp"))
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tynebase", "serve"],
        env=serve_env(data_dir, port),
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("wb"),  # kept by pytest for a failed run
        text=True,
    )
    server = Live(base=f"http://127.0.0.1:{port}", data_dir=data_dir, process=process)
    try:
        _wait_ready(server.base, process)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def _sign_in(live: Live) -> None:
    signup = httpx.post(
        f"{live.base}/api/auth/signup",
        json={
            "email": "ops@example.com",
            "password": PASSWORD,
            "name": "Ops",
            "tenant_name": "Ops Co",
            "subdomain": "ops",
        },
    )
    assert signup.status_code == 201, signup.text
    login = httpx.post(
        f"{live.base}/api/auth/login",
        headers={"X-Tenant-Subdomain": "ops"},
        json={"email": "ops@example.com", "password": PASSWORD},
    )
    assert login.status_code == 200, login.text
    live.headers = {
        "X-Tenant-Subdomain": "ops",
        "Authorization": f"Bearer {login.json()['access_token']}",
    }


@dataclass
class Traffic:
    """Writes and reads in a loop from a thread; what each answered, and what was acknowledged."""

    live: Live
    acknowledged: list[str] = field(default_factory=list)
    answers: list[tuple[float, str, int, str | None, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.live.base, headers=self.live.headers) as client:
            n = 0
            while not self.stop.is_set():
                n += 1
                self._call(client, "POST", "/api/documents", {"title": f"during outage {n}"})
                self._call(client, "GET", "/api/documents?limit=5", None)
                time.sleep(0.05)

    def _call(self, client: httpx.Client, method: str, url: str, body: object) -> None:
        started = time.monotonic()
        try:
            response = client.request(method, url, json=body, timeout=HANG_SECONDS)
        except httpx.TimeoutException:
            self.answers.append((started, method, 0, "HUNG", HANG_SECONDS))
            return
        elapsed = time.monotonic() - started
        code = None
        if response.status_code >= 400:
            code = response.json().get("error", {}).get("code")
        self.answers.append((started, method, response.status_code, code, elapsed))
        if method == "POST" and response.status_code == 201:
            self.acknowledged.append(response.json()["id"])


def _import_completes(live: Live) -> None:
    """The in-process job worker still runs jobs: a Markdown import finishes."""
    with httpx.Client(base_url=live.base, headers=live.headers, timeout=30) as client:
        started = client.post(
            "/api/imports",
            files={"file": ("after.md", b"# After the outage\n\nStill here.", "text/markdown")},
        )
        assert started.status_code == 202, started.text
        job_url = f"/api/jobs/{started.json()['job_id']}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = client.get(job_url).json()["status"]
            if status in ("succeeded", "failed"):
                break
            time.sleep(0.2)
        assert status == "succeeded", client.get(job_url).text


def test_database_outage_under_traffic(live: Live) -> None:
    _sign_in(live)
    traffic = Traffic(live)
    thread = threading.Thread(target=traffic.run, daemon=True)
    thread.start()
    try:
        while len(traffic.acknowledged) < 5:
            time.sleep(0.05)
        socket_dir = live.stop_database()
        stopped_at = time.monotonic()
        # Readiness says so at once: the very next probe fails.
        ready = httpx.get(f"{live.base}/readyz", timeout=HANG_SECONDS)
        assert ready.status_code == 503
        assert ready.json()["checks"]["database:responseTime"][0]["status"] == "fail"
        assert httpx.get(f"{live.base}/livez", timeout=HANG_SECONDS).status_code == 200
        while time.monotonic() - stopped_at < OUTAGE_SECONDS:
            time.sleep(0.5)
        restarted_at = time.monotonic()
        live.start_database(socket_dir)
        body = _wait_ready(live.base, live.process, timeout=60)
        assert body["status"] in ("pass", "warn")
        recovered_at = time.monotonic()
        # Traffic flows again through the same process (no restart).
        while not any(
            start > recovered_at and method == "POST" and status == 201
            for start, method, status, _, _ in list(traffic.answers)
        ):
            assert live.process.poll() is None
            time.sleep(0.1)
    finally:
        traffic.stop.set()
        thread.join(timeout=HANG_SECONDS * 2)

    during = [a for a in traffic.answers if stopped_at + 1 < a[0] < restarted_at]
    assert len(during) >= 20, "the traffic thread did not keep calling during the outage"
    assert all(a[3] != "HUNG" for a in traffic.answers), "a request hung"
    assert {(status, code) for _, _, status, code, _ in during} == {(503, "DATABASE_UNAVAILABLE")}
    assert all(status != 500 for _, _, status, _, _ in traffic.answers)

    # Every write the API acknowledged (201), before, during and after, is there.
    with httpx.Client(base_url=live.base, headers=live.headers, timeout=30) as client:
        for document_id in traffic.acknowledged:
            assert client.get(f"/api/documents/{document_id}").status_code == 200, document_id
    _import_completes(live)
    slowest_during = max(a[4] for a in during)
    print(f"outage: {len(during)} requests during it, slowest answer {slowest_during:.3f} s")
