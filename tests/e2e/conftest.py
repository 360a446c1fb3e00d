"""Browser tests: one live server (API + pages + collab + worker in one process, as `tynebase
serve` runs them) on its own database, and one headless Chromium (Debian's) per test session.

Skipped, with the reason, where Chromium or the Python `playwright` package is missing; CI
installs both (.ci/run)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn

from tests.conftest import TEMPLATE_DB, TestDatabase, make_settings, unique
from tynebase.api.app import create_app
from tynebase.db.engine import DatabaseUrls, libpq_url
from tynebase.settings import Settings

CHROMIUM = os.environ.get("TYNEBASE_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "mellow-otter-tuba-91"
E2E_DB = "tynebase_e2e"
FRONTEND = Path(__file__).resolve().parents[2] / "frontend"

try:
    from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    url: str
    settings: Settings
    owner_url: str
    superuser_url: str  # reads tenant rows past RLS, for assertions

    def mail_token(self, email: str, subject_contains: str = "") -> str:
        """The token of the newest mail to `email`, read from the outbox (as an operator would)."""
        deadline = time.monotonic() + 10
        while True:
            with psycopg.connect(libpq_url(self.owner_url)) as conn:
                row = conn.execute(
                    "SELECT body FROM mail_outbox WHERE to_address = %s AND subject LIKE %s "
                    "ORDER BY created_at DESC LIMIT 1",
                    (email.lower(), f"%{subject_contains}%"),
                ).fetchone()
            if row is not None or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert row is not None, f"no mail to {email}"
        match = re.search(r"^Token: (\S+)$", row[0], re.M)
        assert match, row[0]
        return match.group(1)

    def sql(self, query: str, *params: Any) -> list[Any]:
        with psycopg.connect(libpq_url(self.superuser_url), autocommit=True) as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "DATABASE_URL": self.owner_url,
            "TYNEBASE_SECRET_KEY": self.settings.secret.decode(),
            "TYNEBASE_DATA_DIR": str(self.settings.data_dir),
            "TYNEBASE_ENVIRONMENT": "test",
        }
        exe = Path(sys.executable).with_name("tynebase")
        return subprocess.run(
            [str(exe), *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )


@pytest.fixture(scope="session")
def live_server(database: TestDatabase) -> Iterator[LiveServer]:
    owner = database.create_database(E2E_DB, template=TEMPLATE_DB)
    port = _free_port()
    settings = make_settings(
        database.base_dir,
        owner,
        public_url=f"http://127.0.0.1:{port}",
        run_worker_in_process=True,
        run_collab_in_process=True,
        worker_poll_seconds=0.5,
        collab_projection_debounce_seconds=0.2,
        maintenance_cache_seconds=0,
    )
    app = create_app(settings, DatabaseUrls(owner=owner, app=settings.app_url_from(owner)))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/livez", timeout=1).status_code == 200 and server.started:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        raise RuntimeError("the live server did not start")
    try:
        from sqlalchemy.engine import make_url

        superuser = make_url(database.server.superuser_url).set(
            drivername="postgresql+psycopg", database=E2E_DB
        )
        yield LiveServer(
            url=url,
            settings=settings,
            owner_url=owner,
            superuser_url=superuser.render_as_string(hide_password=False),
        )
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# Module scope, not session: sync_playwright keeps an asyncio loop running in this thread while
# it is open, so every later `asyncio.run()` in the same xdist worker (CLI tests, job runners)
# would fail. pytest closes a module's fixtures before it moves on to another module.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if sync_playwright is None:
        pytest.skip("the Python playwright package is not installed (dev extra)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield browser
        finally:
            browser.close()


class Watch:
    """Fails the test if any page opened a dialog or logged the XSS marker."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.csp_violations: list[str] = []

    def attach(self, page: Page) -> Page:
        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("console", lambda msg: self.console.append(msg.text))
        return page


@pytest.fixture
def context(chromium: Browser) -> Iterator[BrowserContext]:
    ctx = chromium.new_context()
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


@dataclass
class Person:
    email: str
    name: str
    subdomain: str
    password: str = PASSWORD


def signup_in_browser(page: Page, server: LiveServer, *, name: str = "Ada Admin") -> Person:
    """Sign up through the pages, confirm with the token from the outbox, log in."""
    sub = unique("e")
    email = f"{unique('a')}@example.com"
    page.goto(f"{server.url}/signup")
    page.fill("#f-name", name)
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.fill("#f-tenant_name", f"Acme {sub}")
    page.fill("#f-subdomain", sub)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    person = Person(email=email, name=name, subdomain=sub)
    if "Check your mail" in page.content():
        token = server.mail_token(email, "Confirm")
        page.goto(f"{server.url}/confirm?token={token}")
        page.click("button[type=submit]")
        page.wait_for_selector("text=Email confirmed")
    login(page, server, person)
    return person


def login(page: Page, server: LiveServer, person: Person) -> None:
    page.goto(f"{server.url}/w/{person.subdomain}/login")
    page.fill("#f-email", person.email)
    page.fill("#f-password", person.password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf".*/w/{person.subdomain}/$"))


def npm_available() -> bool:
    return shutil.which("npm") is not None


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core from the frontend's lockfile (npm ci once, cached in frontend/node_modules)."""
    path = FRONTEND / "node_modules" / "axe-core" / "axe.min.js"
    if not path.exists():
        if not npm_available():
            pytest.skip("npm is needed to install axe-core")
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True, timeout=300
        )
    return path.read_text()
