"""What starting the `tynebase` command imports: every command loads every command module, so
those must leave the web stack, the job queue and the database layers to the commands that use
them (docs/PERFORMANCE.md, "CLI start-up"). Structural checks, in a fresh interpreter each."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import TEST_SECRET, TestDatabase

# Packages no command needs merely to start, parse its arguments or print its help.
HEAVY = frozenset(
    {
        "alembic",
        "boto3",
        "fastapi",
        "httpx",
        "numpy",
        "pgserver",
        "procrastinate",
        "psycopg",
        "pycrdt",
        "sqlalchemy",
        "starlette",
        "uvicorn",
        "wordllama",
    }
)
# Packages of the API and collaboration servers and of the workers, which the operator's
# database commands do not need either.
SERVER_ONLY = frozenset(
    {"boto3", "fastapi", "pycrdt", "procrastinate", "starlette", "uvicorn", "wordllama"}
)
REPORT = "print(json.dumps(sorted(sys.modules)))"


def loaded(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter has imported after running `code` (then REPORT)."""
    done = subprocess.run(
        [sys.executable, "-c", f"import json, sys\n{code}\n{REPORT}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_loading_the_cli_imports_no_feature_and_no_heavy_package() -> None:
    modules = loaded("import tynebase.cli.main")
    assert packages(modules) & HEAVY == set()
    assert "markdown_it" not in modules  # rich's Markdown: typer loads it for --help only
    ours = {m for m in modules if m.startswith("tynebase.")}
    assert {m for m in ours if not m.startswith("tynebase.cli")} <= {"tynebase.errors"}


def test_help_imports_no_heavy_package() -> None:
    modules = loaded(
        "from tynebase.cli.main import app\n"
        "try:\n"
        "    app(['tenant', '--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code"
    )
    assert packages(modules) & HEAVY == set()


@pytest.mark.parametrize("command", [["tenant", "list", "--json"], ["db", "status"]])
def test_database_commands_import_no_server_package(
    database: TestDatabase, command: list[str]
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database.urls.owner,
        "TYNEBASE_SECRET_KEY": TEST_SECRET,
        "TYNEBASE_ENVIRONMENT": "test",
    }
    modules = loaded(
        "from typer.testing import CliRunner\n"
        "from tynebase.cli.main import app\n"
        f"result = CliRunner().invoke(app, {command!r})\n"
        "assert result.exit_code == 0, result.output",
        env=env,
    )
    assert packages(modules) & SERVER_ONLY == set()
