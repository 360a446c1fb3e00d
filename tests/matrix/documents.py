"""Matrix entries for documents: CRUD, workflow, versions, lineage and share links; plus the
helpers the document tests share (making, publishing and sharing documents through the API)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Account, unique
from tests.matrix.core import Target, World


def make_document(account: Account, **fields: Any) -> dict[str, Any]:
    body = {"title": unique("Doc "), "body": "First line\n", **fields}
    response = account.post("/api/documents", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def act(account: Account, document_id: str, action: str) -> dict[str, Any]:
    """submit / publish / discard-draft, which must succeed."""
    response = account.post(f"/api/documents/{document_id}/{action}")
    assert response.status_code == 200, response.text
    done: dict[str, Any] = response.json()
    return done


def published_document(account: Account, **fields: Any) -> dict[str, Any]:
    return act(account, make_document(account, **fields)["id"], "publish")


def edit(account: Account, document_id: str, **fields: Any) -> dict[str, Any]:
    response = account.request("PATCH", f"/api/documents/{document_id}", json=fields)
    assert response.status_code == 200, response.text
    edited: dict[str, Any] = response.json()
    return edited


def share(account: Account, document_id: str, days: int = 7) -> dict[str, Any]:
    response = account.post(f"/api/documents/{document_id}/shares", json={"expires_in_days": days})
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


# --- tenant B's resources ------------------------------------------------------------------------


def _b_document(world: World) -> dict[str, Any]:
    """B's published document, with a later version (3) and a pending draft."""

    def make() -> dict[str, Any]:
        document = published_document(world.b, body="B's secret text\n", tags=["b-only-tag"])
        edit(world.b, document["id"], body="B's pending draft\n")
        document = act(world.b, document["id"], "publish")
        edit(world.b, document["id"], title=unique("B draft title "))
        world.b_markers |= {document["id"], document["title"], "B's secret", "b-only-tag"}
        return document

    return world.once("document", make)


def _b_share(world: World) -> dict[str, Any]:
    def make() -> dict[str, Any]:
        made = share(world.b, _b_document(world)["id"])
        world.b_markers |= {made["id"], made["token"]}
        return made

    return world.once("share", make)


def _doc_path(suffix: str = "") -> Any:
    return lambda w: f"/api/documents/{_b_document(w)['id']}{suffix}"


def _listing(template: str) -> Any:
    """A collection route, called once B has a document that it must not show."""
    return lambda w: (_b_document(w), template)[1]


def _forged_share_path(world: World) -> str:
    """B's share secret presented as a link of A's workspace: the token names its tenant, so
    this is the only cross-tenant attempt there is (the public route ignores tenant headers).
    The lookup runs under A's RLS with a hash that covers the tenant part: nothing is found."""
    secret = _b_share(world)["token"].split("_", 2)[2]
    return f"/api/public/share/tb_s{world.a.tenant_id.replace('-', '')}_{secret}"


def _no_body(_world: World, _holder: Account) -> None:
    return None


# (method, route template) -> how to attack it. Every tenant-scoped route must be here.
ENTRIES: dict[tuple[str, str], Target] = {
    ("POST", "/api/documents"): Target(
        "collection",
        _listing("/api/documents"),
        lambda _w, _h: {"title": "made by A", "tags": ["a-tag"]},
    ),
    ("GET", "/api/documents"): Target("collection", _listing("/api/documents?limit=100")),
    ("GET", "/api/documents/{document_id}"): Target("object", _doc_path()),
    ("PATCH", "/api/documents/{document_id}"): Target(
        "object", _doc_path(), lambda _w, _h: {"title": "hijacked", "category_id": None}
    ),
    ("DELETE", "/api/documents/{document_id}"): Target("object", _doc_path()),
    ("POST", "/api/documents/{document_id}/submit"): Target("object", _doc_path("/submit")),
    ("POST", "/api/documents/{document_id}/publish"): Target("object", _doc_path("/publish")),
    ("POST", "/api/documents/{document_id}/discard-draft"): Target(
        "object", _doc_path("/discard-draft")
    ),
    ("GET", "/api/documents/{document_id}/versions"): Target("object", _doc_path("/versions")),
    ("GET", "/api/documents/{document_id}/versions/{number}"): Target(
        "object", _doc_path("/versions/2")
    ),
    ("GET", "/api/documents/{document_id}/diff"): Target("object", _doc_path("/diff?from=1&to=3")),
    ("POST", "/api/documents/{document_id}/versions/{number}/restore"): Target(
        "object", _doc_path("/versions/1/restore")
    ),
    ("GET", "/api/documents/{document_id}/lineage"): Target("object", _doc_path("/lineage")),
    ("POST", "/api/documents/{document_id}/shares"): Target(
        "object", _doc_path("/shares"), lambda _w, _h: {"expires_in_days": 365}
    ),
    ("GET", "/api/documents/{document_id}/shares"): Target("object", _doc_path("/shares")),
    ("DELETE", "/api/shares/{share_id}"): Target(
        "object", lambda w: f"/api/shares/{_b_share(w)['id']}"
    ),
    ("GET", "/api/public/share/{token}"): Target(
        "credential",
        _forged_share_path,
        _no_body,
        cross=frozenset({404}),
        wrong_tenant=frozenset({404}),
    ),
}
