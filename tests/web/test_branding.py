"""GET/PUT /api/tenant/settings and the settings page: name, colours, logo."""

from __future__ import annotations

import io

from tests.conftest import Account, Accounts, error_code
from tests.web.conftest import Browser

# 1x1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _upload(account: Account, name: str, data: bytes, content_type: str) -> str:
    response = account.post("/api/files", files={"file": (name, io.BytesIO(data), content_type)})
    assert response.status_code == 201, response.text
    file_id: str = response.json()["id"]
    return file_id


def test_admins_change_name_colours_and_logo(admin: Account, browser: Browser) -> None:
    got = admin.get("/api/tenant/settings").json()
    assert got["subdomain"] == admin.subdomain
    assert got["branding"]["logo_file_id"] is None
    logo = _upload(admin, "logo.png", PNG, "image/png")
    put = admin.request(
        "PUT",
        "/api/tenant/settings",
        json={"name": "Acme Docs", "primary_color": "#AA0000", "logo_file_id": logo},
    )
    assert put.status_code == 200, put.text
    body = put.json()
    assert body["name"] == "Acme Docs"
    assert body["branding"]["primary_color"] == "#aa0000"
    assert body["branding"]["accent_color"] == "#0f766e"  # untouched: the default
    assert body["branding"]["logo_url"].startswith(f"/w/{admin.subdomain}/api/files/{logo}/")
    browser.login(admin)
    css = browser.get(f"/w/{admin.subdomain}/brand.css")
    assert css.headers["content-type"].startswith("text/css")
    assert "--brand:#aa0000" in css.text
    home = browser.get(f"/w/{admin.subdomain}/").text
    assert "Acme Docs" in home
    logo_src = body["branding"]["logo_url"].split("?")[0]
    assert logo_src in home
    image = browser.get(home.split('<img src="')[1].split('"')[0].replace("&amp;", "&"))
    assert image.status_code == 200
    assert image.content == PNG
    removed = admin.request("PUT", "/api/tenant/settings", json={"logo_file_id": None})
    assert removed.json()["branding"]["logo_file_id"] is None


def test_settings_refuse_bad_input(admin: Account) -> None:
    bad = admin.request("PUT", "/api/tenant/settings", json={"primary_color": "red"})
    assert bad.status_code == 400
    assert error_code(bad) == "VALIDATION_ERROR"
    text = _upload(admin, "notes.txt", b"hello\n", "text/plain")
    not_image = admin.request("PUT", "/api/tenant/settings", json={"logo_file_id": text})
    assert not_image.status_code == 400
    assert error_code(not_image) == "LOGO_NOT_AN_IMAGE"
    unknown = admin.request(
        "PUT", "/api/tenant/settings", json={"logo_file_id": "00000000-0000-0000-0000-000000000000"}
    )
    assert unknown.status_code == 404
    extra = admin.request("PUT", "/api/tenant/settings", json={"tier": "enterprise"})
    assert extra.status_code == 400


def test_only_admins_change_settings(admin: Account, accounts: Accounts) -> None:
    editor = accounts.member(admin, "editor")
    assert editor.get("/api/tenant/settings").status_code == 200
    refused = editor.request("PUT", "/api/tenant/settings", json={"name": "Mine now"})
    assert refused.status_code == 403
    assert error_code(refused) == "INSUFFICIENT_ROLE"


def test_settings_page_saves_through_the_same_rules(admin: Account, browser: Browser) -> None:
    browser.login(admin)
    path = f"/w/{admin.subdomain}/settings"
    saved = browser.post_form(
        path,
        {"name": "Via the page", "primary_color": "#112233", "accent_color": "#445566",
         "logo_file_id": ""},
    )  # fmt: skip
    assert saved.status_code == 200
    assert "Saved." in saved.text
    assert admin.get("/api/tenant/settings").json()["branding"]["primary_color"] == "#112233"
    refused = browser.post_form(path, {"name": "x", "primary_color": "#12345g"})
    assert refused.status_code == 200
    assert "#rrggbb" in refused.text
