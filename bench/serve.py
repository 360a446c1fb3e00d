"""A throwaway `tynebase serve` for end-to-end benchmarks: a temporary data directory (embedded
PostgreSQL), a free port, a signed-up account; stopped and removed however the benchmark ends.

    with serving("tbup", {"TYNEBASE_RUN_WORKER_IN_PROCESS": "false"}) as server:
        headers = login(server.base)
        ...  # server.proc.pid for memory readings
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PASSWORD = "mellow-otter-tuba-91"  # noqa: S105 - a throwaway account in a temporary database


@dataclass(frozen=True)
class Served:
    proc: subprocess.Popen[bytes]
    base: str  # http://127.0.0.1:PORT
    data_dir: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"server not ready:\n{log.read_text()[-3000:]}")


@contextmanager
def serving(prefix: str, env: Mapping[str, str], *, stop_timeout: float) -> Iterator[Served]:
    """`tynebase serve` on a fresh data directory (named `prefix`...) with `env` added, ready;
    afterwards SIGTERM to its process group (SIGKILL after `stop_timeout`) and the directory
    removed."""
    data_dir = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    full_env = {
        **os.environ,
        "TYNEBASE_DATA_DIR": str(data_dir),
        "TYNEBASE_PORT": str(port),
        "TYNEBASE_LOG_LEVEL": "WARNING",
        **env,
    }
    full_env.pop("DATABASE_URL", None)
    log = data_dir / "serve.log"
    tynebase = Path(sys.executable).with_name("tynebase")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(tynebase), "serve"],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_ready(base, proc, log)
        yield Served(proc=proc, base=base, data_dir=data_dir)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(data_dir, ignore_errors=True)


def login(base: str) -> dict[str, str]:
    """Sign up a new tenant and log in: the headers of its owner's requests."""
    subdomain = f"bench{uuid.uuid4().hex[:8]}"
    email = f"{subdomain}@example.com"
    signup = httpx.post(
        f"{base}/api/auth/signup",
        json={
            "email": email,
            "password": PASSWORD,
            "name": "Bench",
            "tenant_name": "Bench",
            "subdomain": subdomain,
        },
        timeout=30,
    )
    signup.raise_for_status()
    headers = {"X-Tenant-Subdomain": subdomain}
    token = httpx.post(
        f"{base}/api/auth/login",
        json={"email": email, "password": PASSWORD},
        headers=headers,
        timeout=30,
    )
    token.raise_for_status()
    return {**headers, "Authorization": f"Bearer {token.json()['access_token']}"}
