"""Matrix entries for files and imports: uploads, metadata, signed download URLs, imports."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.conftest import Account, unique
from tests.matrix.core import Target, World


def store_file(account: Account, data: bytes, filename: str) -> dict[str, Any]:
    response = account.post(
        "/api/files",
        params={"filename": filename},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    stored: dict[str, Any] = response.json()
    return stored


def signed_url(account: Account, file_id: str) -> str:
    response = account.get(f"/api/files/{file_id}/url")
    assert response.status_code == 200, response.text
    url: str = response.json()["url"]
    return url


def _b_file(world: World) -> dict[str, Any]:
    def make() -> dict[str, Any]:
        filename = f"{unique('b-secret-')}.md"
        stored = store_file(world.b, b"# B's private notes\n\nB's secret text\n", filename)
        world.b_markers |= {stored["id"], filename, stored["sha256"], "B's secret"}
        return stored

    return world.once("file", make)


def _file_path(suffix: str = "") -> Any:
    return lambda w: f"/api/files/{_b_file(w)['id']}{suffix}"


def _listing(template: str) -> Any:
    return lambda w: (_b_file(w), template)[1]


def _forged_download(world: World) -> str:
    """A's genuine signature (for A's own file) on B's file id. The signature binds tenant and
    file, so it opens nothing: not in A's workspace, not in B's. (B's genuine link sent to A's
    workspace, and A's to B's, are in tests/files/test_signed_urls.py.)"""
    a_file = world.once("a_file", lambda: store_file(world.a, b"A's own file\n", "a.txt"))
    query = parse_qs(urlsplit(signed_url(world.a, a_file["id"])).query)
    b_file = _b_file(world)["id"]
    return f"/api/files/{b_file}/download?expires={query['expires'][0]}&sig={query['sig'][0]}"


def _no_body(_world: World, _holder: Account) -> None:
    return None


# (method, route template) -> how to attack it. Every tenant-scoped route must be here.
ENTRIES: dict[tuple[str, str], Target] = {
    # A JSON body sent raw is stored as a (text) file of A's.
    ("POST", "/api/files"): Target(
        "collection", _listing("/api/files"), lambda _w, _h: {"made": "by A"}
    ),
    ("GET", "/api/files"): Target("collection", _listing("/api/files?limit=200")),
    ("GET", "/api/files/usage"): Target("collection", _listing("/api/files/usage")),
    ("GET", "/api/files/{file_id}"): Target("object", _file_path()),
    ("DELETE", "/api/files/{file_id}"): Target("object", _file_path()),
    ("GET", "/api/files/{file_id}/url"): Target("object", _file_path("/url")),
    ("GET", "/api/files/{file_id}/download"): Target("credential", _forged_download, _no_body),
    # Importing B's stored file from A's workspace: B's id is unknown there.
    ("POST", "/api/imports"): Target(
        "object", lambda _w: "/api/imports", lambda w, _h: {"file_id": _b_file(w)["id"]}
    ),
}
