from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from tynebase.cli.main import app
from tynebase.settings import Settings

STRONG = "x" * 48


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_production_refuses_missing_or_default_secret() -> None:
    for secret in (None, "changeme", "short"):
        with pytest.raises(ValidationError, match="TYNEBASE_SECRET_KEY"):
            make(
                environment="production",
                secret_key=secret,
                database_url="postgresql://o@db/tynebase",
            )


def test_production_refuses_embedded_database() -> None:
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        make(environment="production", secret_key=STRONG)


def test_production_accepts_real_configuration() -> None:
    settings = make(
        environment="production",
        secret_key=STRONG,
        database_url="postgres://owner:pw@db:5432/tynebase",
    )
    assert settings.database_url == "postgresql+psycopg://owner:pw@db:5432/tynebase"
    assert not settings.embedded
    assert not settings.confirm_first_admin


def test_rejects_non_postgres_url_and_bad_log_level() -> None:
    with pytest.raises(ValidationError, match="postgresql"):
        make(database_url="mysql://x@y/z")
    with pytest.raises(ValidationError, match="log_level"):
        make(log_level="LOUD")


def test_development_secret_is_generated_once(tmp_path: Path) -> None:
    first = make(data_dir=tmp_path).secret
    assert len(first) >= 32
    assert make(data_dir=tmp_path).secret == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_app_role_url_is_derived_from_owner_url() -> None:
    settings = make(secret_key=STRONG)
    url = settings.app_url_from("postgresql+psycopg://owner:pw@db:5432/tynebase")
    assert url.startswith("postgresql+psycopg://tynebase_app:")
    assert url.endswith("@db:5432/tynebase")
    assert settings.derive_secret("db-app-role-password") in url
    explicit = make(secret_key=STRONG, app_database_url="postgresql://app:x@db/tb")
    assert explicit.app_url_from("postgresql://owner@db/tb") == "postgresql+psycopg://app:x@db/tb"


def test_cli_reports_invalid_configuration_clearly() -> None:
    result = CliRunner().invoke(app, ["db", "status"], env={"TYNEBASE_PORT": "not-a-port"})
    assert result.exit_code == 2
    assert "TYNEBASE_PORT" in result.output
