#!/usr/bin/env python3
"""Web benchmark: prints ONE JSON document on stdout (progress on stderr).

1. Server time per page (p50/p95 over loopback, one keep-alive client) for the main pages of a
   workspace holding 10,000 documents, against the floor `/livez` (no database) measured in the
   same run, interleaved.
2. The editor bundle's size, gzipped (budget 400 KB).
3. Collaboration latency: a keystroke in one Chromium context until the text shows in a second
   one (both timestamps taken inside the browser, same clock), p50/p95 over N keystrokes.

Run: .venv/bin/python bench/web.py [--documents 10000] [--requests 200] [--keystrokes 100]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tynebase.api.app import create_app  # noqa: E402
from tynebase.db.embedded import EmbeddedPostgres  # noqa: E402
from tynebase.db.engine import DatabaseUrls, libpq_url  # noqa: E402
from tynebase.db.setup import prepare_schema  # noqa: E402
from tynebase.settings import Settings  # noqa: E402

PASSWORD = "mellow-otter-tuba-91"  # noqa: S105 (a bench account in a temp database)
SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105
CHROMIUM = "/usr/bin/chromium"
GOALS = {"page_p95_ms_max": 50.0, "bundle_gzip_kb_max": 400.0, "keystroke_p95_ms_max": 200.0}


def log(message: str) -> None:
    print(f"[bench/web] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def seed(superuser_url: str, tenant_id: str, user_id: str, count: int) -> None:
    with psycopg.connect(libpq_url(superuser_url), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO documents (tenant_id, title, body, status, visibility, author_id, "
            "current_version, published_at) "
            "SELECT %s, 'Document ' || g || ' about topic ' || (g %% 97), "
            "repeat('Body text of document ' || g || ' with some words. ', 20), "
            "CASE WHEN g %% 2 = 0 THEN 'published' ELSE 'draft' END, 'team', %s, 1, "
            "CASE WHEN g %% 2 = 0 THEN now() END FROM generate_series(1, %s) g",
            (tenant_id, user_id, count),
        )
        conn.execute("ANALYZE documents")


def measure_pages(
    url: str, sub: str, cookies: httpx.Cookies, viewer: httpx.Cookies, doc: str, n: int
) -> dict[str, Any]:
    """Each round GETs every page once; `home_viewer` is home for a viewer (the counts then
    filter rows by role, author and status instead of counting them all)."""
    pages = {
        "floor_livez": "/livez",
        "home": "/w/{sub}/",
        "home_viewer": "/w/{sub}/",
        "document": "/w/{sub}/d/{doc}",
        "versions": "/w/{sub}/d/{doc}/versions",
        "search": "/w/{sub}/search?q=topic+42",
        "members": "/w/{sub}/members",
        "new_document": "/w/{sub}/documents/new",
        "usage": "/w/{sub}/usage",
        "audit": "/w/{sub}/audit",
    }
    timings: dict[str, list[float]] = {name: [] for name in pages}
    with (
        httpx.Client(base_url=url, cookies=cookies, timeout=30) as admin_client,
        httpx.Client(base_url=url, cookies=viewer, timeout=30) as viewer_client,
    ):
        for name, path in pages.items():  # warm up
            client = viewer_client if name == "home_viewer" else admin_client
            client.get(path.format(sub=sub, doc=doc))
        for _ in range(n):
            for name, path in pages.items():
                client = viewer_client if name == "home_viewer" else admin_client
                started = time.perf_counter()
                response = client.get(path.format(sub=sub, doc=doc))
                timings[name].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (name, response.status_code)
    return {
        name: {"p50_ms": pct(v, 0.5), "p95_ms": pct(v, 0.95), "n": len(v)}
        for name, v in timings.items()
    }


def web_login(url: str, sub: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=url)
    login_page = client.get(f"/w/{sub}/login").text
    csrf = login_page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(f"/w/{sub}/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf})
    return client


def add_viewer(
    url: str, owner: str, sub: str, tenant_id: str, auth: dict[str, str]
) -> httpx.Client:
    """A viewer of the workspace (invited and accepted through the API), logged in to pages."""
    email = "viewer@example.com"
    with psycopg.connect(libpq_url(owner), autocommit=True) as conn:
        conn.execute("UPDATE tenants SET tier = 'base' WHERE id = %s", (tenant_id,))  # 10 seats
    invited = httpx.post(
        f"{url}/api/invites", headers=auth, json={"email": email, "role": "viewer"}
    )
    assert invited.status_code == 201, invited.text
    with psycopg.connect(libpq_url(owner)) as conn:
        mail = conn.execute(
            "SELECT body FROM mail_outbox WHERE to_address = %s ORDER BY created_at DESC", (email,)
        ).fetchone()
    assert mail is not None
    token = mail[0].split("Token: ")[1].split()[0]
    accepted = httpx.post(
        f"{url}/api/invites/accept",
        headers={"X-Tenant-Subdomain": sub},
        json={"token": token, "name": "Viewer", "password": PASSWORD},
    )
    assert accepted.status_code == 201, accepted.text
    return web_login(url, sub, email)


KEYSTROKE_JS = """async ([n]) => {
  // context A: type n characters, one at a time, recording when each was typed
  const sent = []
  for (let i = 0; i < n; i++) {
    sent.push(performance.timeOrigin + performance.now())
    const view = window.tynebaseEditor.view
    view.dispatch({changes: {from: view.state.doc.length, insert: 'x'}})
    await new Promise(r => setTimeout(r, 60))
  }
  return sent
}"""
WATCH_JS = """() => {
  window.__seen = []
  window.tynebaseEditor.ytext.observe(() => {
    window.__seen.push(performance.timeOrigin + performance.now())
  })
}"""


def measure_keystrokes(url: str, sub: str, doc: str, email: str, n: int) -> dict[str, Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright not installed"}
    if not Path(CHROMIUM).exists():
        return {"skipped": f"no {CHROMIUM}"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        pages = []
        for _ in range(2):
            ctx = browser.new_context()
            page = ctx.new_page()
            page.goto(f"{url}/w/{sub}/login")
            page.fill("#f-email", email)
            page.fill("#f-password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"**/w/{sub}/")
            page.goto(f"{url}/w/{sub}/d/{doc}/edit")
            page.wait_for_selector("#editor[data-synced=true]")
            pages.append(page)
        a, b = pages
        b.evaluate(WATCH_JS)
        sent = a.evaluate(KEYSTROKE_JS, [n])
        deadline = time.monotonic() + 30
        while b.evaluate("() => window.__seen.length") < n and time.monotonic() < deadline:
            time.sleep(0.05)
        seen = b.evaluate("() => window.__seen")
        browser.close()
    latencies = [s - t for t, s in zip(sent, seen, strict=False)]
    return {
        "p50_ms": pct(latencies, 0.5),
        "p95_ms": pct(latencies, 0.95),
        "mean_ms": round(statistics.fmean(latencies), 2),
        "n": len(latencies),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keystrokes", type=int, default=100)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tbw", dir="/tmp"))
    server = EmbeddedPostgres(base)
    server.start()
    try:
        owner = server.bootstrap("tynebase")
        port = free_port()
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            environment="test",
            data_dir=base,
            database_url=owner,
            secret_key=SECRET,
            public_url=f"http://127.0.0.1:{port}",
            rate_limit_api_per_tenant="1000000/minute",
            rate_limit_auth_per_ip="100000/minute",
            run_collab_in_process=True,
            run_worker_in_process=False,
            log_level="WARNING",
        )
        urls = DatabaseUrls(owner=owner, app=settings.app_url_from(owner))
        prepare_schema(settings, urls)
        app = create_app(settings, urls)
        uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=uv.run, daemon=True).start()
        url = f"http://127.0.0.1:{port}"
        while not uv.started:
            time.sleep(0.05)
        sub, email = "benchweb", "bench@example.com"
        signed = httpx.post(f"{url}/api/auth/signup", json={
            "email": email, "password": PASSWORD, "name": "Bench", "tenant_name": "Bench",
            "subdomain": sub}).json()  # fmt: skip
        with psycopg.connect(libpq_url(owner)) as conn:
            mail = conn.execute("SELECT body FROM mail_outbox ORDER BY created_at DESC").fetchone()
        if mail is not None:
            confirm = mail[0].split("Token: ")[1].split()[0]
            httpx.post(f"{url}/api/auth/confirm", json={"token": confirm})
        log(f"seeding {args.documents} documents")
        superuser = make_url(server.superuser_url).set(database="tynebase")
        seed(
            superuser.render_as_string(hide_password=False),
            signed["tenant"]["id"],
            signed["user"]["id"],
            args.documents,
        )
        client = web_login(url, sub, email)
        tokens = client.post(
            "/api/auth/login",
            headers={"X-Tenant-Subdomain": sub},
            json={"email": email, "password": PASSWORD},
        ).json()
        auth = {"X-Tenant-Subdomain": sub, "Authorization": f"Bearer {tokens['access_token']}"}
        body = {"title": "Bench doc", "body": "# Bench\n\n" + "text " * 500}
        doc = httpx.post(f"{url}/api/documents", headers=auth, json=body).json()["id"]
        viewer = add_viewer(url, owner, sub, signed["tenant"]["id"], auth)
        log("measuring pages")
        pages = measure_pages(url, sub, client.cookies, viewer.cookies, doc, args.requests)
        worst = max(v["p95_ms"] for k, v in pages.items() if k != "floor_livez")
        bundle = ROOT / "src" / "tynebase" / "web" / "static" / "editor.js"
        bundle_kb = round(len(gzip.compress(bundle.read_bytes(), 9)) / 1024, 1)
        log("measuring keystrokes")
        keys = measure_keystrokes(url, sub, doc, email, args.keystrokes)
        uv.should_exit = True
        result = {
            "benchmark": "web",
            "documents_in_tenant": args.documents,
            "pages": pages,
            "page_p95_ms_worst": worst,
            "floor_p95_ms": pages["floor_livez"]["p95_ms"],
            "ratio_worst_page_to_floor_p95": round(worst / pages["floor_livez"]["p95_ms"], 1),
            "bundle_gzip_kb": bundle_kb,
            "keystroke": keys,
            "goals": GOALS,
            "meets": {
                "page_p95": worst <= GOALS["page_p95_ms_max"],
                "bundle": bundle_kb <= GOALS["bundle_gzip_kb_max"],
                "keystroke_p95": isinstance(keys.get("p95_ms"), int | float)
                and keys["p95_ms"] <= GOALS["keystroke_p95_ms_max"],
            },
        }
        print(json.dumps(result, indent=2))
        return 0
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
