"""The CLI commands of the foundation, run as an operator would (in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import psycopg

from tests.conftest import TEST_SECRET, TestDatabase, unique
from tynebase.db.engine import libpq_url


def tynebase(
    database: TestDatabase, *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database.urls.owner,
        "TYNEBASE_SECRET_KEY": TEST_SECRET,
        "TYNEBASE_ENVIRONMENT": "test",
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "tynebase", *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_tenant_create_and_list(database: TestDatabase) -> None:
    sub = unique("cli")
    created = tynebase(database, "tenant", "create", sub, "--name", "CLI Co", "--tier", "pro")
    assert created.returncode == 0, created.stderr
    assert sub in created.stdout
    listed = tynebase(database, "tenant", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    tenants = {t["subdomain"]: t for t in json.loads(listed.stdout)}
    assert tenants[sub]["tier"] == "pro"
    assert tenants[sub]["status"] == "active"
    again = tynebase(database, "tenant", "create", sub, "--name", "Again")
    assert again.returncode == 1
    assert "SUBDOMAIN_TAKEN" in again.stdout
    bad = tynebase(database, "tenant", "create", "X!", "--name", "Bad")
    assert bad.returncode == 1
    assert "VALIDATION_ERROR" in bad.stdout


def test_create_superadmin_then_promote(
    database: TestDatabase, owner_sql: psycopg.Connection[Any]
) -> None:
    email = f"{unique('root')}@example.com"
    weak = tynebase(
        database, "user", "create-superadmin", "--email", email, "--password", "password1234"
    )
    assert weak.returncode == 1
    assert "WEAK_PASSWORD" in weak.stderr
    made = tynebase(
        database,
        "user",
        "create-superadmin",
        "--email",
        email,
        "--password",
        "mellow-otter-tuba-91",
    )
    assert made.returncode == 0, made.stderr
    row = owner_sql.execute(
        "SELECT is_superadmin, email_confirmed_at IS NOT NULL, password_hash "
        "FROM users WHERE email = %s",
        (email,),
    ).fetchone()
    assert row is not None
    assert row[0]
    assert row[1]
    assert row[2].startswith("$argon2id$")
    again = tynebase(
        database, "user", "create-superadmin", "--email", email, "--password", "ignored"
    )
    assert again.returncode == 0
    assert "promoted" in again.stdout


def test_mail_outbox_shows_confirmation_mail(database: TestDatabase, accounts: Any) -> None:
    account = accounts.signup(confirm=False, login=False)
    shown = tynebase(database, "mail", "outbox", "--to", account.email, "--json")
    assert shown.returncode == 0, shown.stderr
    mails = json.loads(shown.stdout)
    assert mails[0]["subject"] == "Confirm your TyneBase account"
    assert "/confirm?token=" in mails[0]["body"]
    with psycopg.connect(libpq_url(database.urls.owner)) as conn:
        assert conn.execute(
            "SELECT count(*) FROM mail_outbox WHERE to_address = %s", (account.email,)
        ).fetchone() == (1,)


def test_keys_rotate_keeps_old_tokens_valid_during_overlap(
    database: TestDatabase, admin: Any, owner_sql: psycopg.Connection[Any]
) -> None:
    before = {
        row[0] for row in owner_sql.execute("SELECT kid FROM signing_keys WHERE retires_at IS NULL")
    }
    rotated = tynebase(database, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    current = owner_sql.execute("SELECT kid FROM signing_keys WHERE retires_at IS NULL").fetchall()
    assert len(current) == 1
    assert current[0][0] not in before
    assert admin.get("/api/auth/me").status_code == 200  # signed by the retiring key
