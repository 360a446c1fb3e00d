"""Fixtures of the operations tests: a database of their own (maintenance mode and platform
state are global, so they must not leak into the rest of the suite), an app on it that re-reads
the maintenance state on every request, and the CLI run in-process against it."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import TEMPLATE_DB, TEST_SECRET, Accounts, TestDatabase, make_settings
from tynebase.api.app import create_app
from tynebase.cli.main import app as cli_app
from tynebase.db.engine import DatabaseUrls, libpq_url
from tynebase.settings import Settings


@dataclass
class OpsWorld:
    database: TestDatabase
    name: str
    urls: DatabaseUrls
    settings: Settings
    data_dir: Path
    client: TestClient
    accounts: Accounts
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.urls.owner,
            "TYNEBASE_SECRET_KEY": TEST_SECRET,
            "TYNEBASE_ENVIRONMENT": "test",
            "TYNEBASE_DATA_DIR": str(self.data_dir),
            "TYNEBASE_OPERATOR": "pytest",
            "COLUMNS": "200",
        } | self.extra_env

    def cli(self, *args: str, input: str | None = None) -> Any:
        """Run `tynebase ARGS` in this process, as an operator would in a shell."""
        result = CliRunner().invoke(cli_app, list(args), env=self.env, input=input)
        return result

    def owner(self) -> psycopg.Connection[Any]:
        return psycopg.connect(libpq_url(self.urls.owner), autocommit=True)

    def app_role(self) -> psycopg.Connection[Any]:
        return psycopg.connect(libpq_url(self.urls.app), autocommit=True)


@pytest.fixture(scope="module")
def ops(database: TestDatabase) -> Iterator[OpsWorld]:
    name = f"ops_{uuid.uuid4().hex[:10]}"
    owner = database.create_database(name, template=TEMPLATE_DB)
    data_dir = Path(tempfile.mkdtemp(prefix="tbops", dir="/tmp"))
    settings = make_settings(data_dir, owner, maintenance_cache_seconds=0)
    urls = DatabaseUrls(owner=owner, app=settings.app_url_from(owner))
    app = create_app(settings, urls)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield OpsWorld(
                database=database,
                name=name,
                urls=urls,
                settings=settings,
                data_dir=data_dir,
                client=client,
                accounts=Accounts(client, owner),
            )
    finally:
        with psycopg.connect(database.server.superuser_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(data_dir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_api(ops: OpsWorld, settings: Settings) -> Iterator[str]:
    """The ops database served by a real uvicorn on loopback (for what probes it over HTTP,
    such as doctor): its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, ops.urls), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn stopped"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
