"""Every command in docs/RUNBOOK.md is real (OPS-12): each fenced `sh` block runs, in order,
against a live `tynebase serve` on a fresh data directory, with the variables the runbook's
header names. Conventions (documented in the runbook): `# expect-exit: N` on a block's first
lines sets the exit status it must end with (default 0); `# with-service-stopped` runs the
block with the service down (the test stops and restarts it around the block)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.ops.test_serve import PASSWORD, _free_port

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "RUNBOOK.md"
BLOCK = re.compile(r"^```sh\n(.*?)^```$", re.M | re.S)
EXPECT = re.compile(r"^# expect-exit: (\d+)$", re.M)
STOPPED = "# with-service-stopped"
BLOCK_TIMEOUT = 180


@dataclass(frozen=True)
class Block:
    section: str
    line: int
    script: str
    expect: int
    service_stopped: bool


def parse(text: str) -> list[Block]:
    blocks = []
    for match in BLOCK.finditer(text):
        before = text[: match.start()]
        headings = re.findall(r"^#{2,3} (.+)$", before, re.M)
        script = match.group(1)
        header = script.split("\n", 3)[:3]
        expect = next((int(m.group(1)) for m in map(EXPECT.match, header) if m), 0)
        blocks.append(
            Block(
                section=headings[-1] if headings else "(top)",
                line=before.count("\n") + 2,
                script=script,
                expect=expect,
                service_stopped=STOPPED in header,
            )
        )
    return blocks


def test_parser_conventions() -> None:
    text = (
        "## 9. Things\n\n```sh\n# expect-exit: 2\nfalse\n```\n\n"
        "```sh\n# with-service-stopped\ntrue\n```\n\n```python\nnot run\n```\n"
    )
    first, second = parse(text)
    assert (first.section, first.expect, first.service_stopped, first.line) == (
        "9. Things",
        2,
        False,
        4,
    )
    assert (second.expect, second.service_stopped) == (0, True)


class Service:
    """`tynebase serve` as `make run` starts it, on its own data directory and port."""

    def __init__(self, data_dir: Path, port: int, env: dict[str, str]) -> None:
        self.data_dir, self.port, self.env = data_dir, port, env
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[str] | None = None
        self.log = data_dir.parent / f"{data_dir.name}-serve.log"

    def start(self) -> None:
        handle = self.log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tynebase", "serve"],
            env=self.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("serve did not become ready: " + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture(scope="module")
def service() -> Iterator[tuple[Service, dict[str, str]]]:
    data_dir = Path(tempfile.mkdtemp(prefix="tbrb", dir="/tmp"))
    port = _free_port()
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("TYNEBASE_") and k != "DATABASE_URL"
    }
    base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
    server_env = base | {"TYNEBASE_DATA_DIR": str(data_dir), "TYNEBASE_PORT": str(port)}
    svc = Service(data_dir, port, server_env)
    svc.start()
    try:
        signup = httpx.post(
            f"{svc.url}/api/auth/signup",
            json={
                "email": "ops@example.com",
                "password": PASSWORD,
                "name": "Ops Admin",
                "tenant_name": "Acme",
                "subdomain": "acme",
            },
        )
        assert signup.status_code == 201, signup.text
        shell_env = server_env | {
            "TYNEBASE_URL": svc.url,
            "TYNEBASE_COLLAB_URL": svc.url,
            "TYNEBASE_TENANT": "acme",
            "TYNEBASE_ADMIN_EMAIL": "ops@example.com",
            "TYNEBASE_ADMIN_PASSWORD": PASSWORD,
            "TYNEBASE_OPERATOR": "runbook-test",
            "COLUMNS": "160",
        }
        yield svc, shell_env
    finally:
        svc.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        svc.log.unlink(missing_ok=True)


def test_every_runbook_command_runs(service: tuple[Service, dict[str, str]]) -> None:
    svc, env = service
    blocks = parse(RUNBOOK.read_text())
    assert len(blocks) >= 25, "the runbook lost its commands"
    assert any(b.service_stopped for b in blocks)
    assert any(b.expect for b in blocks)
    failures: list[str] = []
    timings: list[tuple[float, int, str]] = []
    for block in blocks:
        if block.service_stopped:
            svc.stop()
        started = time.monotonic()
        try:
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", block.script],
                env=env,
                cwd=svc.data_dir,
                capture_output=True,
                text=True,
                timeout=BLOCK_TIMEOUT,
                check=False,
            )
        finally:
            if block.service_stopped:
                svc.start()
        timings.append((time.monotonic() - started, block.line, block.section))
        if result.returncode != block.expect:
            failures.append(
                f"RUNBOOK.md:{block.line} ({block.section}) exited {result.returncode}, "
                f"expected {block.expect}\n$ {block.script}\n{result.stdout[-1500:]}"
                f"\n{result.stderr[-1500:]}"
            )
    if os.environ.get("RUNBOOK_TIMINGS"):
        Path(os.environ["RUNBOOK_TIMINGS"]).write_text(
            "\n".join(f"{t:6.1f}s line {line} {section}" for t, line, section in timings)
        )
    assert not failures, "\n\n".join(failures)
