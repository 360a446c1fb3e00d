"""axe-core (from the frontend lockfile) finds no serious or critical violations on the main
pages, logged out and in."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.conftest import LiveServer, signup_in_browser
from tynebase.db.engine import libpq_url

pytestmark = pytest.mark.slow

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']})
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({id: v.id, impact: v.impact,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))
}"""


def test_main_pages_have_no_serious_violations(
    chromium: Any, live_server: LiveServer, axe_source: str
) -> None:
    ctx = chromium.new_context()
    try:
        page = ctx.new_page()
        person = signup_in_browser(page, live_server)
        api = httpx.Client(
            base_url=live_server.url, headers={"X-Tenant-Subdomain": person.subdomain}, timeout=30
        )
        tokens = api.post(
            "/api/auth/login", json={"email": person.email, "password": person.password}
        ).json()
        api.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        doc = api.post(
            "/api/documents",
            json={
                "title": "Accessible",
                "body": "# Heading\n\nA [link](https://example.com).\n\n| a |\n|---|\n| 1 |\n",
                "tags": ["x"],
            },
        ).json()
        api.patch(f"/api/documents/{doc['id']}", json={"body": "# Heading\n\nChanged.\n"})
        base = f"{live_server.url}/w/{person.subdomain}"
        pages = {
            "landing": f"{live_server.url}/",
            "signup": f"{live_server.url}/signup",
            "status": f"{live_server.url}/status",
            "home": f"{base}/",
            "document": f"{base}/d/{doc['id']}",
            "editor": f"{base}/d/{doc['id']}/edit",
            "versions": f"{base}/d/{doc['id']}/versions",
            "diff": f"{base}/d/{doc['id']}/diff?from=1",
            "new": f"{base}/documents/new",
            "search": f"{base}/search?q=heading",
            "files": f"{base}/files",
            "members": f"{base}/members",
            "settings": f"{base}/settings",
            "chat": f"{base}/chat",
            "usage": f"{base}/usage",
            "audit": f"{base}/audit",
            "platform admin": f"{base}/admin",
        }
        with psycopg.connect(libpq_url(live_server.owner_url), autocommit=True) as conn:
            conn.execute("UPDATE users SET is_superadmin = true WHERE email = %s", (person.email,))
        found: dict[str, Any] = {}
        for name, url in pages.items():
            page.goto(url)
            page.wait_for_load_state("load")
            page.evaluate(axe_source)
            violations = page.evaluate(RUN_AXE)
            if violations:
                found[name] = violations
        assert found == {}, found
    finally:
        ctx.close()
