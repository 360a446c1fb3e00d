"""Fixtures of the operations tests: a database of their own (maintenance mode and platform
state are global, so they must not leak into the rest of the suite), an app on it that re-reads
the maintenance state on every request, and the CLI run in-process against it."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
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
