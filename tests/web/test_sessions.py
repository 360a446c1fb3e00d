"""Cookie sessions on the API's auth sessions, CSRF, security headers, tenant by path."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Account, Accounts, error_code
from tests.web.conftest import Browser


def _set_cookies(response: object) -> list[str]:
    return response.headers.get_list("set-cookie")  # type: ignore[attr-defined]


def test_login_sets_httponly_lax_cookies_scoped_to_the_workspace(
    browser: Browser, admin: Account
) -> None:
    response = browser.post_form(
        f"/w/{admin.subdomain}/login", {"email": admin.email, "password": admin.password}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/w/{admin.subdomain}/"
    cookies = [c for c in _set_cookies(response) if c.startswith(("tb_access=", "tb_refresh="))]
    assert len(cookies) == 2
    for cookie in cookies:
        low = cookie.lower()
        assert "httponly" in low
        assert "samesite=lax" in low
        assert f"path=/w/{admin.subdomain}" in low
        assert "secure" not in low  # plain http (localhost)
    assert browser.get(f"/w/{admin.subdomain}/").status_code == 200


def test_cookies_are_secure_behind_https(client: TestClient, admin: Account) -> None:
    browser = Browser(client, base_url="https://testserver")
    response = browser.post_form(
        f"/w/{admin.subdomain}/login", {"email": admin.email, "password": admin.password}
    )
    assert all("secure" in c.lower() for c in _set_cookies(response))


def test_pages_need_a_session(browser: Browser, admin: Account) -> None:
    response = browser.get(f"/w/{admin.subdomain}/members", follow_redirects=False)
    assert response.status_code == 303
    assert (
        response.headers["location"]
        == f"/w/{admin.subdomain}/login?next=/w/{admin.subdomain}/members"
    )
    # htmx requests get told where to go instead of a redirect they would swap in.
    hx = browser.get(f"/w/{admin.subdomain}/search/results", headers={"HX-Request": "true"})
    assert hx.status_code == 401
    assert hx.headers["HX-Redirect"].startswith(f"/w/{admin.subdomain}/login")


def test_a_session_of_one_workspace_does_not_open_another(
    browser: Browser, admin: Account, other_admin: Account
) -> None:
    browser.login(admin)
    response = browser.get(f"/w/{other_admin.subdomain}/", follow_redirects=False)
    assert response.status_code == 303  # no cookie for that path: log in there
    assert browser.get("/w/nosuchworkspace1/").status_code == 404


def test_every_form_post_needs_the_csrf_token(browser: Browser, admin: Account) -> None:
    browser.login(admin)
    base = f"/w/{admin.subdomain}"
    missing = browser.http.post(f"{base}/documents/new", data={"title": "No token"})
    assert missing.status_code == 403
    assert "CSRF_FAILED" in missing.text
    forged = browser.http.post(
        f"{base}/documents/new", data={"title": "Forged", "csrf_token": "0" * 64}
    )
    assert forged.status_code == 403
    assert admin.get("/api/documents?q=Forged").json()["items"] == []
    ok = browser.post_form(f"{base}/documents/new", {"title": "With token", "body": ""})
    assert ok.status_code == 303
    # Anonymous forms too (bound to a per-browser cookie).
    assert browser.http.post("/signup", data={"email": "x@example.com"}).status_code == 403


def test_the_bridge_uses_the_cookie_and_needs_csrf_for_writes(
    browser: Browser, admin: Account
) -> None:
    base = f"/w/{admin.subdomain}"
    assert browser.http.get(f"{base}/api/auth/me").status_code == 401
    browser.login(admin)
    me = browser.http.get(f"{base}/api/auth/me")
    assert me.status_code == 200
    assert me.json()["user"]["email"] == admin.email
    body = {"title": "Bridged"}
    refused = browser.http.post(f"{base}/api/documents", json=body)
    assert refused.status_code == 403
    assert error_code(refused) == "CSRF_FAILED"
    token = browser.csrf(browser.get(f"{base}/").text)
    created = browser.http.post(f"{base}/api/documents", json=body, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.text
    # A bearer token sent alongside is ignored: on this path only the cookie speaks.
    other = browser.http.get(f"{base}/api/auth/me", headers={"Authorization": "Bearer not-a-token"})
    assert other.status_code == 200


def test_an_expired_access_cookie_is_refreshed_once_for_racing_requests(
    browser: Browser, admin: Account
) -> None:
    browser.login(admin)
    base = f"/w/{admin.subdomain}"
    jar = browser.http.cookies
    refresh = jar.get("tb_refresh", path=base)
    jar.delete("tb_access", path=base)
    jar.set("tb_access", "expired.or.garbage", path=base)
    first = browser.get(f"{base}/")
    assert first.status_code == 200
    assert any(c.startswith("tb_refresh=") for c in _set_cookies(first))
    # A second request that raced with the old refresh token gets the same new tokens instead
    # of tripping reuse detection (which would revoke the session).
    racer = Browser(browser.http)
    racer.http.cookies.set("tb_refresh", refresh, path=base)
    assert racer.get(f"{base}/").status_code == 200
    assert browser.get(f"{base}/").status_code == 200


def test_logout_revokes_the_session(browser: Browser, admin: Account) -> None:
    browser.login(admin)
    base = f"/w/{admin.subdomain}"
    refresh = browser.http.cookies.get("tb_refresh", path=base)
    response = browser.post_form(f"{base}/logout", {}, page=f"{base}/")
    assert response.status_code == 303
    thief = Browser(browser.http)
    thief.http.cookies.set("tb_refresh", refresh, path=base)
    assert thief.get(f"{base}/", follow_redirects=False).status_code == 303


def test_pages_apply_the_same_permissions_as_the_api(
    browser: Browser, admin: Account, accounts: Accounts
) -> None:
    viewer = accounts.member(admin, "viewer")
    browser.login(viewer)
    base = f"/w/{admin.subdomain}"
    assert browser.get(f"{base}/members").status_code == 403
    assert browser.get(f"{base}/settings").status_code == 403
    refused = browser.post_form(f"{base}/documents/new", {"title": "By a viewer"}, page=f"{base}/")
    assert refused.status_code == 403
    assert "contributor role" in refused.text
    draft = admin.post("/api/documents", json={"title": "Admin draft"}).json()
    assert browser.get(f"{base}/d/{draft['id']}").status_code == 404  # drafts are not for viewers


def test_security_headers(browser: Browser, admin: Account) -> None:
    for path in ("/", "/signup", "/static/app.js", f"/w/{admin.subdomain}/login", "/api/nope"):
        response = browser.get(path)
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "same-origin", path
    csp = browser.get("/").headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "<script>" not in browser.get("/").text  # no inline script at all
    unknown = browser.get("/api/nope")
    assert unknown.status_code == 404
    assert error_code(unknown) == "NOT_FOUND"  # the API's envelope, not an HTML page
