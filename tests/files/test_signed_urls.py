"""Downloads by expiring signed URLs (FILE-2): no token needed, but the link is bound to its
workspace and file, cannot be altered, and expires."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, Accounts, error_code, make_settings
from tests.files.helpers import png_bytes, upload
from tests.matrix.documents import make_document, published_document
from tests.matrix.files import signed_url, store_file
from tynebase.files import signing
from tynebase.settings import Settings


def fetch(client: TestClient, url: str, subdomain: str, **headers: str) -> Any:
    """A plain GET of the link, as a browser would: no Authorization header."""
    return client.get(url, headers={"X-Tenant-Subdomain": subdomain, **headers})


def parts(url: str) -> tuple[str, dict[str, str]]:
    split = urlsplit(url)
    return split.path, {k: v[0] for k, v in parse_qs(split.query).items()}


def with_query(path: str, **query: Any) -> str:
    return f"{path}?{urlencode(query)}"


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert error_code(response) == code


def test_a_signed_url_downloads_without_a_token(admin: Account, settings: Settings) -> None:
    data = png_bytes(3, 3)
    file = store_file(admin, data, "pic 1 \u00e9.png")
    response = admin.get(f"/api/files/{file['id']}/url")
    assert response.status_code == 200, response.text
    body = response.json()
    path, query = parts(body["url"])
    assert path == f"/api/files/{file['id']}/download"
    assert set(query) == {"expires", "sig"}
    expires_in = int(query["expires"]) - time.time()
    assert settings.file_url_ttl_seconds - 60 < expires_in <= settings.file_url_ttl_seconds
    assert body["expires_at"].startswith(time.strftime("%Y-", time.gmtime(int(query["expires"]))))

    download = fetch(admin.client, body["url"], admin.subdomain)
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-length"] == str(len(data))
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''pic%201%20%C3%A9.png" in download.headers["content-disposition"]
    # The tenant may also come from the Host, as for a browser on {sub}.{base domain}.
    by_host = admin.client.get(body["url"], headers={"Host": f"{admin.subdomain}.localhost"})
    assert by_host.content == data


def test_an_altered_link_is_refused(admin: Account) -> None:
    file = store_file(admin, b"text\n", "a.txt")
    other = store_file(admin, b"other\n", "b.txt")
    path, query = parts(signed_url(admin, file["id"]))
    later = int(query["expires"]) + 3600
    for url in (
        with_query(path, expires=later, sig=query["sig"]),  # a longer life
        with_query(path, expires=query["expires"], sig=query["sig"][:-2] + "AA"),
        with_query(path, expires=query["expires"], sig=""),
        with_query(path, expires=query["expires"]),
        with_query(path, sig=query["sig"]),
        with_query(path, expires="soon", sig=query["sig"]),
        path,
        # This file's signature on another file of the same workspace.
        with_query(f"/api/files/{other['id']}/download", **query),
    ):
        assert_error(fetch(admin.client, url, admin.subdomain), 403, "INVALID_SIGNATURE")


def test_an_expired_link_is_gone(admin: Account, settings: Settings) -> None:
    file = store_file(admin, b"text\n", "a.txt")
    url = signing.signed_path(
        settings,
        tenant_id=uuid.UUID(admin.tenant_id),
        file_id=uuid.UUID(file["id"]),
        expires=int(time.time()) - 1,
    )
    assert_error(fetch(admin.client, url, admin.subdomain), 410, "URL_EXPIRED")


def test_a_link_signed_with_another_key_is_refused(admin: Account, settings: Settings) -> None:
    file = store_file(admin, b"text\n", "a.txt")
    other_key = make_settings(settings.data_dir, None, secret_key="another-secret-" * 4)
    url = signing.signed_path(
        other_key,
        tenant_id=uuid.UUID(admin.tenant_id),
        file_id=uuid.UUID(file["id"]),
        expires=int(time.time()) + 60,
    )
    assert_error(fetch(admin.client, url, admin.subdomain), 403, "INVALID_SIGNATURE")


def test_a_link_works_only_in_its_own_workspace(admin: Account, other_admin: Account) -> None:
    a_file = store_file(admin, b"A's file\n", "a.txt")
    b_file = store_file(other_admin, b"B's file\n", "b.txt")
    b_url = signed_url(other_admin, b_file["id"])
    a_url = signed_url(admin, a_file["id"])
    # B's genuine link presented in A's workspace, and A's in B's.
    assert_error(fetch(admin.client, b_url, admin.subdomain), 403, "INVALID_SIGNATURE")
    assert_error(fetch(admin.client, a_url, other_admin.subdomain), 403, "INVALID_SIGNATURE")
    # Each still works where it belongs.
    assert fetch(admin.client, b_url, other_admin.subdomain).content == b"B's file\n"
    assert fetch(admin.client, a_url, admin.subdomain).content == b"A's file\n"
    # Without a workspace there is nothing to look in.
    response = admin.client.get(b_url)
    assert response.status_code == 404


def test_a_link_to_a_deleted_file(admin: Account) -> None:
    file = store_file(admin, b"text\n", "a.txt")
    url = signed_url(admin, file["id"])
    assert admin.request("DELETE", f"/api/files/{file['id']}").status_code == 204
    assert_error(fetch(admin.client, url, admin.subdomain), 404, "FILE_NOT_FOUND")


@pytest.mark.parametrize(("published", "status"), [(True, 200), (False, 404)])
def test_a_viewer_gets_links_for_files_of_documents_they_may_read(
    accounts: Accounts, admin: Account, published: bool, status: int
) -> None:
    viewer = accounts.member(admin, "viewer")
    document = published_document(admin) if published else make_document(admin)
    response = upload(admin, png_bytes(), "figure.png", document_id=document["id"])
    file = response.json()
    response = viewer.get(f"/api/files/{file['id']}/url")
    assert response.status_code == status, response.text
    if status == 200:
        download = fetch(viewer.client, response.json()["url"], viewer.subdomain)
        assert download.content == png_bytes()
    else:
        assert error_code(response) == "FILE_NOT_FOUND"
