"""Stored XSS: known payloads in titles, bodies, tags and file names never execute, on any page
that shows them; and the Content-Security-Policy blocks inline script outright."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LiveServer, Watch, login, signup_in_browser
from tests.e2e.xss_payloads import PAYLOADS

pytestmark = pytest.mark.slow
MARKER = "XSS-EXECUTED"
# Defined before any page script: payloads that call xss() would log the marker.
INIT = f"window.xss = () => console.log('{MARKER}');"


def _api(server: LiveServer, sub: str, email: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, headers={"X-Tenant-Subdomain": sub}, timeout=30)
    tokens = client.post("/api/auth/login", json={"email": email, "password": password})
    assert tokens.status_code == 200, tokens.text
    client.headers["Authorization"] = f"Bearer {tokens.json()['access_token']}"
    return client


def test_stored_payloads_never_execute(chromium: Any, live_server: LiveServer) -> None:
    assert len(PAYLOADS) >= 50
    ctx = chromium.new_context()
    ctx.add_init_script(INIT)
    watch = Watch()
    try:
        page = watch.attach(ctx.new_page())
        person = signup_in_browser(page, live_server, name="<img src=x onerror=alert('name')>")
        api = _api(live_server, person.subdomain, person.email, person.password)
        body = "\n\n".join(
            f"{p}\n\n[link {i}]({p})\n\n![image {i}]({p})\n\n`{p}`" for i, p in enumerate(PAYLOADS)
        )
        ids = []
        for i, payload in enumerate(PAYLOADS):
            created = api.post(
                "/api/documents",
                json={
                    "title": payload[:500],
                    "body": body if i % 10 == 0 else f"{payload}\n\n{payload} body {i}",
                    "tags": [payload[:64], f"t{i}"],
                },
            )
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
            if i % 10 == 0:
                assert api.post(f"/api/documents/{ids[-1]}/publish").status_code == 200
        for i, payload in enumerate(PAYLOADS[:20]):
            name = (payload.replace("/", "_") or "x")[:100] + ".txt"
            uploaded = api.post(
                "/api/files", files={"file": (name, f"file {i}\n".encode(), "text/plain")}
            )
            assert uploaded.status_code == 201, uploaded.text
        base = f"{live_server.url}/w/{person.subdomain}"
        pages = [f"{base}/", f"{base}/files", f"{base}/search?q=alert", f"{base}/members"]
        for doc_id in ids[::10]:
            pages += [
                f"{base}/d/{doc_id}",
                f"{base}/d/{doc_id}/versions",
                f"{base}/d/{doc_id}/edit",
            ]
        pages += [f"{base}/d/{doc_id}" for doc_id in ids[1::7]]
        for url in pages:
            page.goto(url)
            page.wait_for_load_state("load")
            page.mouse.move(5, 5)
        # Ctrl+K results render titles too.
        page.goto(f"{base}/")
        page.keyboard.press("Control+k")
        page.fill("#search-dialog-q", "alert")
        page.wait_for_selector("#search-dialog-results li")
        assert watch.dialogs == [], watch.dialogs
        assert not [m for m in watch.console if MARKER in m], watch.console
        # Raw markup never reaches the DOM as elements: the body shows the payload as text.
        page.goto(f"{base}/d/{ids[0]}")
        assert page.locator("#doc-body script, #doc-body iframe, #doc-body svg").count() == 0
        assert page.locator("#doc-body [onerror], #doc-body [onload]").count() == 0
        hrefs = page.eval_on_selector_all("#doc-body a", "els => els.map(e => e.href)")
        assert all(h.startswith(("http://", "https://", "mailto:")) for h in hrefs), hrefs
    finally:
        ctx.close()


def test_csp_blocks_inline_script(chromium: Any, live_server: LiveServer) -> None:
    ctx = chromium.new_context()
    try:
        page = ctx.new_page()
        person = signup_in_browser(page, live_server)
        login(page, live_server, person)
        response = page.goto(f"{live_server.url}/w/{person.subdomain}/")
        assert response is not None
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        outcome = page.evaluate(
            """() => new Promise(resolve => {
                document.addEventListener('securitypolicyviolation',
                    e => resolve({blocked: e.violatedDirective, ran: !!window.__inlineRan}))
                const s = document.createElement('script')
                s.textContent = 'window.__inlineRan = true'
                document.body.appendChild(s)
                setTimeout(() => resolve({blocked: null, ran: !!window.__inlineRan}), 2000)
            })"""
        )
        assert outcome["ran"] is False
        assert outcome["blocked"]
        assert outcome["blocked"].startswith("script-src")
    finally:
        ctx.close()
