"""Shared fixtures: one embedded PostgreSQL per test worker, migrated once into a template database
and copied for the suite; a live app on it; helpers that sign up real accounts through the API.

Tests isolate themselves by creating their own tenants (unique subdomains and emails), which is
exactly the isolation the product promises.
"""

from __future__ import annotations

import re
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

from tynebase.api.app import create_app
from tynebase.db.embedded import OWNER_ROLE, EmbeddedPostgres
from tynebase.db.engine import DatabaseUrls, libpq_url
from tynebase.db.setup import prepare_schema
from tynebase.settings import Settings

TEMPLATE_DB = "tynebase_template"
TEST_DB = "tynebase_test"
PASSWORD = "mellow-otter-tuba-91"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


@dataclass
class TestDatabase:
    __test__ = False  # a fixture type, not a test class

    server: EmbeddedPostgres
    base_dir: Path
    urls: DatabaseUrls

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """A new database (empty, or copied from `template`); returns its owner URL."""
        with psycopg.connect(self.server.superuser_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if template:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" OWNER {OWNER_ROLE}')
        return (
            self.server.bootstrap(name)
            if not template
            else self.server.url(user=OWNER_ROLE, database=name)
        )


def make_settings(base_dir: Path, owner_url: str | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": base_dir,
        "database_url": owner_url,
        "secret_key": TEST_SECRET,
        "rate_limit_auth_per_ip": "100000/minute",
        "rate_limit_api_per_tenant": "100000/minute",
        "public_url": "http://testserver",
        # Real argon2id at a test cost (0.3 ms instead of ~200 ms of CPU per hash): the suite
        # signs up and logs in over a thousand times. tests/unit/test_passwords.py covers the
        # production cost and the settings' floor.
        "argon2_memory_kib": 256,
        "argon2_time_cost": 1,
        "argon2_parallelism": 1,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def database() -> Iterator[TestDatabase]:
    # A short path: the server's unix socket lives in it (108-byte limit).
    base_dir = Path(tempfile.mkdtemp(prefix="tb", dir="/tmp"))
    server = EmbeddedPostgres(base_dir)
    server.start()
    try:
        template_owner = server.bootstrap(TEMPLATE_DB)
        settings = make_settings(base_dir, template_owner)
        prepare_schema(
            settings, DatabaseUrls(owner=template_owner, app=settings.app_url_from(template_owner))
        )
        db = TestDatabase(server=server, base_dir=base_dir, urls=DatabaseUrls(owner="", app=""))
        owner = db.create_database(TEST_DB, template=TEMPLATE_DB)
        db.urls = DatabaseUrls(owner=owner, app=settings.app_url_from(owner))
        yield db
    finally:
        server.stop()
        shutil.rmtree(base_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def settings(database: TestDatabase) -> Settings:
    return make_settings(database.base_dir, database.urls.owner)


@pytest.fixture(scope="session")
def client(settings: Settings, database: TestDatabase) -> Iterator[TestClient]:
    app = create_app(settings, database.urls)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def owner_sql(database: TestDatabase) -> Iterator[psycopg.Connection[Any]]:
    """The owner role on the test database (schema inspection, fixtures such as tier changes)."""
    with psycopg.connect(libpq_url(database.urls.owner), autocommit=True) as conn:
        yield conn


@pytest.fixture
def app_sql(database: TestDatabase) -> Iterator[psycopg.Connection[Any]]:
    """The app role, as the server uses it: RLS applies."""
    with psycopg.connect(libpq_url(database.urls.app)) as conn:
        yield conn


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def latest_mail_token(owner_url: str, email: str, subject_contains: str = "") -> str:
    """The token in the newest mail to `email` (read from the outbox, as an operator would)."""
    with psycopg.connect(libpq_url(owner_url)) as conn:
        row = conn.execute(
            "SELECT body FROM mail_outbox WHERE to_address = %s AND subject LIKE %s "
            "ORDER BY created_at DESC LIMIT 1",
            (email.lower(), f"%{subject_contains}%"),
        ).fetchone()
    assert row is not None, f"no mail to {email}"
    match = re.search(r"^Token: (\S+)$", row[0], re.M)
    assert match, row[0]
    return match.group(1)


@dataclass
class Account:
    """A signed-in user in one workspace, with helpers to call the API as them."""

    client: TestClient
    email: str
    password: str
    user_id: str
    tenant_id: str
    subdomain: str
    access_token: str = ""
    refresh_token: str = ""
    role: str = "admin"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {
            "X-Tenant-Subdomain": self.subdomain,
            "Authorization": f"Bearer {self.access_token}",
        }

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def login(self) -> Account:
        response = self.client.post(
            "/api/auth/login",
            json={"email": self.email, "password": self.password},
            headers={"X-Tenant-Subdomain": self.subdomain},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        self.access_token, self.refresh_token = body["access_token"], body["refresh_token"]
        return self


class Accounts:
    """Factory for real accounts, made through the public API."""

    def __init__(self, client: TestClient, owner_url: str) -> None:
        self.client = client
        self.owner_url = owner_url

    def set_tier(self, account: Account, tier: str) -> None:
        with psycopg.connect(libpq_url(self.owner_url), autocommit=True) as conn:
            conn.execute("UPDATE tenants SET tier = %s WHERE id = %s", (tier, account.tenant_id))

    def signup(self, *, tier: str = "free", confirm: bool = True, login: bool = True) -> Account:
        email, subdomain = f"{unique('u')}@example.com", unique("w")
        response = self.client.post(
            "/api/auth/signup",
            json={
                "email": email,
                "password": PASSWORD,
                "name": "Test Admin",
                "tenant_name": f"Workspace {subdomain}",
                "subdomain": subdomain,
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        account = Account(
            client=self.client,
            email=email,
            password=PASSWORD,
            user_id=body["user"]["id"],
            tenant_id=body["tenant"]["id"],
            subdomain=subdomain,
        )
        if tier != "free":
            self.set_tier(account, tier)
        if confirm:
            token = latest_mail_token(self.owner_url, email, "Confirm")
            assert self.client.post("/api/auth/confirm", json={"token": token}).status_code == 200
        return account.login() if login and confirm else account

    def member(self, admin: Account, role: str) -> Account:
        """Invite a new person into `admin`'s workspace with `role`; they accept and log in."""
        email = f"{unique('m')}@example.com"
        response = admin.post("/api/invites", json={"email": email, "role": role})
        assert response.status_code == 201, response.text
        token = latest_mail_token(self.owner_url, email, "invited")
        accepted = self.client.post(
            "/api/invites/accept",
            headers={"X-Tenant-Subdomain": admin.subdomain},
            json={"token": token, "name": f"Member {role}", "password": PASSWORD},
        )
        assert accepted.status_code == 201, accepted.text
        account = Account(
            client=self.client,
            email=email,
            password=PASSWORD,
            user_id=accepted.json()["user_id"],
            tenant_id=admin.tenant_id,
            subdomain=admin.subdomain,
            role=role,
        )
        return account.login()


@pytest.fixture
def accounts(client: TestClient, database: TestDatabase) -> Accounts:
    return Accounts(client, database.urls.owner)


@pytest.fixture
def admin(accounts: Accounts) -> Account:
    """A confirmed, logged-in admin of a fresh base-tier workspace (10 seats)."""
    return accounts.signup(tier="base")


@pytest.fixture
def other_admin(accounts: Accounts) -> Account:
    """The admin of a second, unrelated workspace."""
    return accounts.signup(tier="base")


def error_code(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "details"} <= set(body["error"]), body
    code: str = body["error"]["code"]
    return code
