"""Hybrid and semantic search are limited to the tenant and to what the caller may read."""

from __future__ import annotations

from tests.conftest import Account, Accounts, TestDatabase, error_code
from tests.rag.conftest import create, publish, run_jobs, search
from tynebase.settings import Settings

TEXT = "Quarterly {who} budget review: forecast the cloud hosting spend for the next year."


def test_filtered_by_tenant_and_visibility(
    settings: Settings,
    database: TestDatabase,
    accounts: Accounts,
    admin: Account,
    other_admin: Account,
) -> None:
    contributor = accounts.member(admin, "contributor")
    viewer = accounts.member(admin, "viewer")
    editor = accounts.member(admin, "editor")
    team = create(admin, "Team budget", TEXT.format(who="team"))
    publish(admin, team["id"])
    private = create(
        contributor, "My budget notes", TEXT.format(who="private"), visibility="private"
    )
    draft = create(admin, "Draft budget", TEXT.format(who="draft"))
    foreign = create(other_admin, "Foreign budget", TEXT.format(who="foreign"))
    publish(other_admin, foreign["id"])
    run_jobs(settings, database)

    query = "how much will cloud hosting cost next year"
    for mode in ("semantic", "hybrid"):
        # Admins read every document of their workspace, private ones included.
        ids = {hit["id"] for hit in search(admin, query, mode)}
        assert ids == {team["id"], draft["id"], private["id"]}, mode
        # Another user's private document never shows, even to an editor.
        assert {hit["id"] for hit in search(editor, query, mode)} == {team["id"], draft["id"]}
        assert {hit["id"] for hit in search(viewer, query, mode)} == {team["id"]}, mode
        assert {hit["id"] for hit in search(contributor, query, mode)} == {
            team["id"],
            private["id"],
        }, mode
        assert {hit["id"] for hit in search(other_admin, query, mode)} == {foreign["id"]}, mode

    hit = search(viewer, query, "semantic")[0]
    assert hit["snippet"]["text"].startswith("Quarterly team budget review")
    assert hit["rank"] > 0

    # Keyword matches keep their highlighted snippets in hybrid mode.
    (keyword_hit,) = search(viewer, "forecast", "hybrid")
    assert keyword_hit["snippet"]["highlights"]

    # Making a document private hides it at once, before any reindexing.
    admin.request("PATCH", f"/api/documents/{team['id']}", json={"visibility": "private"})
    assert search(viewer, query, "hybrid") == []


def test_pages_and_cursor(settings: Settings, database: TestDatabase, admin: Account) -> None:
    for n in range(5):
        create(admin, f"Runbook {n}", f"Restart the payment service number {n} after a deploy.")
    run_jobs(settings, database)
    first = admin.get("/api/search", params={"q": "restart payments", "mode": "hybrid", "limit": 3})
    body = first.json()
    assert len(body["items"]) == 3
    assert body["next_cursor"]
    rest = admin.get(
        "/api/search",
        params={
            "q": "restart payments",
            "mode": "hybrid",
            "limit": 3,
            "cursor": body["next_cursor"],
        },
    ).json()
    assert len(rest["items"]) == 2
    assert rest["next_cursor"] is None
    seen = [i["id"] for i in body["items"] + rest["items"]]
    assert len(set(seen)) == 5
    other_mode = admin.get(
        "/api/search",
        params={"q": "restart payments", "mode": "semantic", "cursor": body["next_cursor"]},
    )
    assert other_mode.status_code == 400
    assert error_code(other_mode) == "INVALID_CURSOR"


def test_hybrid_headlines_the_page_keyword_hits(
    settings: Settings, database: TestDatabase, admin: Account
) -> None:
    """The full-text leg ranks documents with a passage holding every word of the query; on each
    page only those are headlined (highlights), the others show their best passage."""
    words = {
        create(admin, f"Ferry timetable {n}", f"The harbour ferry leaves pier {n} at dawn.")["id"]
        for n in range(3)
    }
    apart = "The harbour is calm.\n\n" + "Filler text. " * 120 + "\n\nA ferry."
    related = {
        create(admin, "Boats", "Vessels cross the bay to the island every morning.")["id"],
        # Both words, but never in one passage: not a full-text hit of hybrid search.
        create(admin, "Apart", apart)["id"],
    }
    run_jobs(settings, database)
    seen: dict[str, dict[str, object]] = {}
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = admin.get("/api/search", params={"q": "harbour ferry", "mode": "hybrid", **params})
        assert body.status_code == 200, body.text
        page = body.json()
        seen.update({item["id"]: item["snippet"] for item in page["items"]})
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen.keys() == words | related  # the vector leg reaches all five
    for document_id, snippet in seen.items():
        assert bool(snippet["highlights"]) == (document_id in words), snippet
