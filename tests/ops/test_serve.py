"""`tynebase serve` from an empty data directory, as `make run` starts it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

PASSWORD = "mellow-otter-tuba-91"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_env(data_dir: Path, port: int) -> dict[str, str]:
    """The environment `make run` gives `tynebase serve`: none of ours, this data dir and port."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("TYNEBASE_") and k != "DATABASE_URL"
    }
    env.update(TYNEBASE_DATA_DIR=str(data_dir), TYNEBASE_PORT=str(port))
    return env


def _wait_ready(
    base: str, process: subprocess.Popen[str], timeout: float = 60
) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            response = httpx.get(f"{base}/readyz", timeout=2)
            if response.status_code == 200:
                body: dict[str, object] = response.json()
                return body
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not become ready")


def test_serve_on_an_empty_data_dir_then_stop_cleanly() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="tbs", dir="/tmp"))
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tynebase", "serve"],
        env=serve_env(data_dir, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert _wait_ready(base, process)["status"] == "pass"
        signup = httpx.post(
            f"{base}/api/auth/signup",
            json={
                "email": "first@example.com",
                "password": PASSWORD,
                "name": "First",
                "tenant_name": "First Co",
                "subdomain": "first",
            },
        )
        assert signup.status_code == 201, signup.text
        # The first admin on the embedded database is confirmed without mail.
        assert signup.json()["email_confirmation_required"] is False
        login = httpx.post(
            f"{base}/api/auth/login",
            headers={"X-Tenant-Subdomain": "first"},
            json={"email": "first@example.com", "password": PASSWORD},
        )
        assert login.status_code == 200, login.text
        postmaster = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
        assert psutil.pid_exists(postmaster)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    deadline = time.monotonic() + 10
    while psutil.pid_exists(postmaster) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(postmaster), "embedded postgres kept running after serve stopped"
    shutil.rmtree(data_dir, ignore_errors=True)
