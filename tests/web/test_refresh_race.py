"""Refresh races across API processes: a browser's parallel requests may present the same refresh
token to two processes. The second, seconds after the rotation, gets an access token only (and
leaves the refresh cookie alone); any other reuse still revokes the session."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account
from tests.web.conftest import Browser
from tynebase.auth.tokens import token_hash
from tynebase.web.session import Refresher

REUSED = "auth.refresh_token.reused"


def _expire_access(browser: Browser, base: str) -> str:
    """Make the browser's access cookie unusable; returns its refresh token."""
    jar = browser.http.cookies
    refresh: str = jar.get("tb_refresh", path=base)
    jar.delete("tb_access", path=base)
    jar.set("tb_access", "expired.or.garbage", path=base)
    return refresh


def _cookie_names(response: Any) -> set[str]:
    return {c.split("=", 1)[0] for c in response.headers.get_list("set-cookie")}


def _other_process(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on the app refreshes like a second process would: without the first one's
    memory of which tokens it already rotated."""
    monkeypatch.setattr(client.app.state.web, "refresher", Refresher())  # type: ignore[attr-defined]


def _racer(client: TestClient, base: str, refresh: str) -> Browser:
    racer = Browser(client)
    racer.http.cookies.set("tb_refresh", refresh, path=base)
    racer.http.cookies.set("tb_access", "expired.or.garbage", path=base)
    return racer


def test_a_racing_request_on_another_process_gets_an_access_token_only(
    client: TestClient, admin: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = Browser(client).login(admin)
    base = f"/w/{admin.subdomain}"
    old = _expire_access(browser, base)
    first = browser.get(f"{base}/api/auth/me")
    assert first.status_code == 200
    assert _cookie_names(first) == {"tb_access", "tb_refresh"}
    _other_process(client, monkeypatch)

    raced = _racer(client, base, old).get(f"{base}/api/auth/me")
    assert raced.status_code == 200, raced.text
    assert _cookie_names(raced) == {"tb_access"}  # the refresh cookie of `first` stays
    # The session lives on, and the token `first` received still rotates normally.
    _expire_access(browser, base)
    again = browser.get(f"{base}/")
    assert again.status_code == 200
    assert _cookie_names(again) == {"tb_access", "tb_refresh"}
    assert admin.get("/api/audit", params={"action": REUSED}).json()["items"] == []


def test_reuse_of_an_older_token_still_revokes_the_session(
    client: TestClient, admin: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = Browser(client).login(admin)
    base = f"/w/{admin.subdomain}"
    oldest = _expire_access(browser, base)
    assert browser.get(f"{base}/").status_code == 200  # oldest → second
    _expire_access(browser, base)
    assert browser.get(f"{base}/").status_code == 200  # second → third, seconds later
    _other_process(client, monkeypatch)

    stolen = _racer(client, base, oldest).get(f"{base}/api/auth/me")
    assert stolen.status_code == 401
    assert browser.get(f"{base}/", follow_redirects=False).status_code == 303  # revoked
    assert len(admin.get("/api/audit", params={"action": REUSED}).json()["items"]) == 1


def test_reuse_after_the_grace_still_revokes_the_session(
    client: TestClient,
    admin: Account,
    owner_sql: psycopg.Connection[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    browser = Browser(client).login(admin)
    base = f"/w/{admin.subdomain}"
    old = _expire_access(browser, base)
    assert browser.get(f"{base}/").status_code == 200
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant_id,))
        moved = owner_sql.execute(
            "UPDATE refresh_tokens SET used_at = used_at - interval '1 minute' "
            "WHERE token_hash = %s",
            (token_hash(old),),
        )
        assert moved.rowcount == 1
    _other_process(client, monkeypatch)

    late = _racer(client, base, old).get(f"{base}/", follow_redirects=False)
    assert late.status_code == 303  # to the login page
    assert browser.get(f"{base}/", follow_redirects=False).status_code == 303
    assert len(admin.get("/api/audit", params={"action": REUSED}).json()["items"]) == 1


def test_the_api_keeps_strict_reuse_detection(client: TestClient, admin: Account) -> None:
    headers = {"X-Tenant-Subdomain": admin.subdomain}
    body = {"refresh_token": admin.refresh_token}
    assert client.post("/api/auth/refresh", headers=headers, json=body).status_code == 200
    reused = client.post("/api/auth/refresh", headers=headers, json=body)
    assert reused.json()["error"]["code"] == "REFRESH_TOKEN_REUSED"
