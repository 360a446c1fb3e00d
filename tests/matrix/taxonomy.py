"""Matrix entries for taxonomy: categories, tags, collections (members, documents) and templates.

B's resources carry unique names that join B's markers, so a list that showed A any of them fails.
Where a route takes two ids, the entry pairs A's own resource with B's (A's collection with B's
user or document), which attacks the second check, or B's resource with a B id that is really in
it (B's member of B's collection), so that success would change B's data.
"""

from __future__ import annotations

from typing import Any

from tests.api.taxonomy_helpers import create, make_document, tag_document
from tests.conftest import Account, unique
from tests.matrix.core import Target, World, _path


def _b_made(world: World, key: str, path: str, **body: Any) -> dict[str, Any]:
    """B's resource made by POSTing `body` (with a unique name) to `path`, once per test."""

    def make() -> dict[str, Any]:
        made = create(world.b, path, name=unique("b-secret-"), **body)
        world.b_markers |= {made["id"], made["name"]}
        return made

    return world.once(f"taxonomy.{key}", make)


def _b_category(world: World) -> dict[str, Any]:
    return _b_made(world, "category", "/api/categories")


def _b_tag(world: World) -> dict[str, Any]:
    return _b_made(world, "tag", "/api/tags")


def _b_template(world: World) -> dict[str, Any]:
    return _b_made(world, "template", "/api/templates", title="B's template", body="B's secret")


def _b_document(world: World) -> str:
    """B's published document, filed in B's category and collection and tagged with B's tag."""

    def make() -> str:
        b, url = world.b, world.accounts.owner_url
        title = unique("b-secret-document-")
        document_id = make_document(url, b, title=title, category_id=_b_category(world)["id"])
        tag_document(url, b, document_id, _b_tag(world)["id"])
        world.b_markers |= {document_id, title}
        return document_id

    return world.once("taxonomy.document", make)


def _b_collection(world: World) -> dict[str, Any]:
    """B's private collection holding B's document, with B's member as an editor."""

    def make() -> dict[str, Any]:
        b = world.b
        made = create(b, "/api/collections", name=unique("b-secret-"), visibility="private")
        base = f"/api/collections/{made['id']}"
        member = b.request(
            "PUT", f"{base}/members/{world.b_member.user_id}", json={"role": "editor"}
        )
        assert member.status_code == 200, member.text
        added = b.request("PUT", f"{base}/documents/{_b_document(world)}", json={})
        assert added.status_code == 200, added.text
        world.b_markers |= {made["id"], made["name"]}
        return made

    return world.once("taxonomy.collection", make)


def _a_collection(world: World) -> dict[str, Any]:
    return world.once(
        "taxonomy.a_collection", lambda: create(world.a, "/api/collections", name="A's")
    )


def _listing(template: str) -> Any:
    """A collection route, called once B has everything it must not show."""
    return lambda w: (_b_collection(w), _b_template(w), template)[2]


def _category(suffix: str = "") -> Any:
    return lambda w: f"/api/categories/{_b_category(w)['id']}{suffix}"


def _tag_path(w: World) -> str:
    return f"/api/tags/{_b_tag(w)['id']}"


def _collection(suffix: str = "") -> Any:
    return lambda w: f"/api/collections/{_b_collection(w)['id']}{suffix}"


def _template(suffix: str = "") -> Any:
    return lambda w: f"/api/templates/{_b_template(w)['id']}{suffix}"


def _name(_w: World, _holder: Account) -> dict[str, Any]:
    return {"name": unique("made-by-a-")}


ENTRIES: dict[tuple[str, str], Target] = {
    # --- categories
    ("GET", "/api/categories"): Target("collection", _listing("/api/categories")),
    # Creating under B's category: the parent is unknown in A's workspace.
    ("POST", "/api/categories"): Target(
        "object",
        _path("/api/categories"),
        lambda w, _h: {"name": unique("a-"), "parent_id": _b_category(w)["id"]},
    ),
    ("PATCH", "/api/categories/{category_id}"): Target(
        "object", _category(), lambda _w, _h: {"name": "taken", "parent_id": None}
    ),
    ("DELETE", "/api/categories/{category_id}"): Target("object", _category()),
    # --- tags
    ("GET", "/api/tags"): Target("collection", _listing("/api/tags")),
    ("POST", "/api/tags"): Target("collection", _listing("/api/tags"), _name),
    ("PATCH", "/api/tags/{tag_id}"): Target("object", _tag_path, _name),
    ("DELETE", "/api/tags/{tag_id}"): Target("object", _tag_path),
    # --- collections
    ("GET", "/api/collections"): Target("collection", _listing("/api/collections")),
    ("POST", "/api/collections"): Target("collection", _listing("/api/collections"), _name),
    ("GET", "/api/collections/{collection_id}"): Target("object", _collection()),
    ("PATCH", "/api/collections/{collection_id}"): Target(
        "object", _collection(), lambda _w, _h: {"name": "taken", "visibility": "team"}
    ),
    ("DELETE", "/api/collections/{collection_id}"): Target("object", _collection()),
    ("GET", "/api/collections/{collection_id}/documents"): Target(
        "object", _collection("/documents")
    ),
    # A's own collection, B's user: not a member of A's workspace.
    ("PUT", "/api/collections/{collection_id}/members/{user_id}"): Target(
        "object",
        lambda w: f"/api/collections/{_a_collection(w)['id']}/members/{w.b_member.user_id}",
        lambda _w, _h: {"role": "editor"},
    ),
    ("DELETE", "/api/collections/{collection_id}/members/{user_id}"): Target(
        "object", lambda w: f"{_collection()(w)}/members/{w.b_member.user_id}"
    ),
    # A's own collection, B's document: unknown in A's workspace.
    ("PUT", "/api/collections/{collection_id}/documents/{document_id}"): Target(
        "object",
        lambda w: f"/api/collections/{_a_collection(w)['id']}/documents/{_b_document(w)}",
        lambda _w, _h: {"position": 0},
    ),
    ("DELETE", "/api/collections/{collection_id}/documents/{document_id}"): Target(
        "object", lambda w: f"{_collection()(w)}/documents/{_b_document(w)}"
    ),
    # --- templates
    ("GET", "/api/templates"): Target("collection", _listing("/api/templates")),
    ("POST", "/api/templates"): Target(
        "collection",
        _listing("/api/templates"),
        lambda _w, _h: {"name": unique("made-by-a-"), "title": "A's"},
    ),
    ("GET", "/api/templates/{template_id}"): Target("object", _template()),
    ("PATCH", "/api/templates/{template_id}"): Target(
        "object", _template(), lambda _w, _h: {"body": "overwritten by A"}
    ),
    ("DELETE", "/api/templates/{template_id}"): Target("object", _template()),
    ("POST", "/api/templates/{template_id}/use"): Target(
        "object", _template("/use"), lambda _w, _h: {"title": "A's copy"}
    ),
}
