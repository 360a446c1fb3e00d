"""Keyword search (DOC-8) through GET /api/search: stemming, ranking, languages without spaces,
what each role may see (results and snippets), pagination, safe snippets and errors.

Documents are written straight into the table (as the owner, tenant set): search is what is under
test here, not the documents API.
"""

from __future__ import annotations

import html
import uuid
from typing import Any

import psycopg
import pytest
from sqlalchemy.dialects.postgresql import psycopg as pg_dialect

from tests.conftest import Account, Accounts, error_code
from tynebase.auth.principal import Principal
from tynebase.search import repo
from tynebase.search.query import parse


def put(
    sql: psycopg.Connection[Any],
    account: Account,
    title: str,
    body: str = "",
    *,
    status: str = "published",
    visibility: str = "team",
    author: Account | None = None,
    draft_body: str | None = None,
) -> str:
    with sql.transaction():
        sql.execute("SELECT set_config('app.tenant_id', %s, true)", (account.tenant_id,))
        row = sql.execute(
            "INSERT INTO documents (tenant_id, title, body, status, visibility, author_id, "
            "draft_body, current_version) VALUES (%s, %s, %s, %s, %s, %s, %s, 1) RETURNING id",
            (
                account.tenant_id,
                title,
                body,
                status,
                visibility,
                (author or account).user_id,
                draft_body,
            ),
        ).fetchone()
    assert row is not None
    return str(row[0])


def search(account: Account, q: str, **params: Any) -> dict[str, Any]:
    response = account.get("/api/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def test_english_stems_and_websearch_syntax(admin: Account, owner_sql: Any) -> None:
    running = put(owner_sql, admin, "Release notes", "We are running the deployments nightly.")
    walking = put(owner_sql, admin, "Walks", "The team walked to the deployment review.")
    assert ids(search(admin, "deployment run")) == [running]
    assert set(ids(search(admin, "deployments"))) == {running, walking}
    assert ids(search(admin, "deployment -nightly")) == [walking]
    assert ids(search(admin, '"deployment review"')) == [walking]
    assert set(ids(search(admin, "nightly or walk"))) == {running, walking}
    assert search(admin, "the")["items"] == []  # stop words only
    assert search(admin, "-- !!")["items"] == []  # nothing searchable at all


def test_title_match_ranks_above_body_match(admin: Account, owner_sql: Any) -> None:
    in_body = put(owner_sql, admin, "Quarterly notes", "Planning for the kettlebell purchase.")
    in_title = put(owner_sql, admin, "Kettlebell purchase", "Planning for the quarter.")
    page = search(admin, "kettlebell")
    assert ids(page) == [in_title, in_body]
    assert page["items"][0]["rank"] > page["items"][1]["rank"]
    title = page["items"][0]
    ((start, end),) = title["title_highlights"]
    assert title["title"][start:end] == "Kettlebell"


@pytest.mark.parametrize(
    ("body", "query", "marked"),
    [
        ("先週、私たちは東京都に行きました。会議はとても長かった。", "東京", "東京"),
        ("先週、私たちは東京都に行きました。", "東京都", "東京都"),
        ("我们今天讨论了数据库迁移的问题，并决定下周完成。", "数据库", "数据库"),
        ("我们今天讨论了数据库迁移的问题。", "迁移", "迁移"),
        ("내일 서울에서 회의가 있습니다. 준비해 주세요.", "회의", "회의"),
        ("내일 서울에서 회의가 있습니다.", "서울", "서울"),
    ],
)
def test_languages_without_spaces_are_found_by_a_word_inside_a_sentence(
    admin: Account, owner_sql: Any, body: str, query: str, marked: str
) -> None:
    doc = put(owner_sql, admin, "Notes", body)
    put(
        owner_sql,
        admin,
        "Other notes",
        "京東 and 東 京 or 数 据 库, 移迁, 회 의, 울서: the characters, never the words",
    )
    page = search(admin, query)
    assert ids(page) == [doc]
    snippet = page["items"][0]["snippet"]
    spans = [snippet["text"][s:e] for s, e in snippet["highlights"]]
    assert marked in spans, snippet
    assert f"<mark>{marked}</mark>" in snippet["html"]


def test_cjk_single_character_is_a_prefix_and_mixed_queries_need_both(
    admin: Account, owner_sql: Any
) -> None:
    tokyo = put(owner_sql, admin, "Trip report", "東京 was busy; the deployment went fine.")
    put(owner_sql, admin, "Other trip", "東京 was quiet.")
    assert tokyo in ids(search(admin, "東"))
    assert ids(search(admin, "東京 deployment")) == [tokyo]
    assert ids(search(admin, "東京 deploying")) == [tokyo]


def test_cjk_title_ranks_and_highlights(admin: Account, owner_sql: Any) -> None:
    in_body = put(owner_sql, admin, "議事録", "データベースの移行について話しました。")
    in_title = put(owner_sql, admin, "データベース移行計画", "来週までに完了する。")
    page = search(admin, "データベース")
    assert ids(page) == [in_title, in_body]
    first = page["items"][0]
    assert [first["title"][s:e] for s, e in first["title_highlights"]] == ["データベース"]


ALL_KINDS = ("team_published", "team_draft", "private_own", "private_other", "review")


@pytest.mark.parametrize(
    ("role", "visible"),
    [
        # Own documents stay readable to their author whatever the role (e.g. after a demotion).
        ("viewer", {"team_published", "private_own", "own_draft"}),
        ("contributor", {"team_published", "private_own", "own_draft"}),
        ("editor", {"team_published", "team_draft", "private_own", "review", "own_draft"}),
    ],
)
def test_each_role_sees_only_what_it_may_read_in_results_and_snippets(
    accounts: Accounts, admin: Account, owner_sql: Any, role: str, visible: set[str]
) -> None:
    reader = accounts.member(admin, role)
    other = accounts.member(admin, "editor")
    docs = {
        "team_published": put(owner_sql, admin, "Zebra handbook", "zebra open secretword1"),
        "team_draft": put(
            owner_sql, admin, "Zebra draft", "zebra secretword2", status="draft", author=other
        ),
        "review": put(
            owner_sql, admin, "Zebra review", "zebra secretword3", status="in_review", author=other
        ),
        "private_other": put(
            owner_sql,
            admin,
            "Zebra private",
            "zebra secretword4",
            visibility="private",
            author=other,
        ),
        "private_own": put(
            owner_sql, admin, "Zebra mine", "zebra mine", visibility="private", author=reader
        ),
        "own_draft": put(
            owner_sql, admin, "Zebra my draft", "zebra", status="draft", author=reader
        ),
    }
    # A published document's pending edit is not what readers see: never searchable.
    put(owner_sql, admin, "Zebra edited", "zebra", draft_body="zebra secretword5", author=other)
    page = search(reader, "zebra", limit=50)
    names = {name for name, doc_id in docs.items() if doc_id in ids(page)}
    assert names == visible
    hidden = {f"secretword{i}" for i in (2, 3, 4, 5)} - (
        {"secretword2", "secretword3"} if role == "editor" else set()
    )
    for word in hidden:
        assert word not in str(page), word
        assert search(reader, word)["items"] == []
    # The admin reads everything, except pending drafts (not published text).
    everything = set(ids(search(admin, "zebra", limit=50)))
    assert set(docs.values()) <= everything
    assert search(admin, "secretword5")["items"] == []


def test_other_workspaces_are_never_searched(
    admin: Account, other_admin: Account, owner_sql: Any
) -> None:
    put(owner_sql, other_admin, "Platypus plan", "platypus")
    mine = put(owner_sql, admin, "Platypus notes", "platypus")
    assert ids(search(admin, "platypus")) == [mine]


def test_pages_cover_every_hit_once_in_rank_order(admin: Account, owner_sql: Any) -> None:
    made = set()
    for i in range(23):
        # Rank varies with the number of mentions; some ties too.
        made.add(put(owner_sql, admin, f"Page {i}", " ".join(["quokka"] * (1 + i % 5))))
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = search(admin, "quokka", **params)
        pages += 1
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert [len(p) for p in (seen[:10], seen[10:20], seen[20:])] == [10, 10, 3]
    assert {item["id"] for item in seen} == made
    keys = [(-item["rank"], item["id"]) for item in seen]
    assert keys == sorted(keys)


def test_cursor_errors(admin: Account, owner_sql: Any) -> None:
    for i in range(3):
        put(owner_sql, admin, f"Wombat {i}", "wombat")
    cursor = search(admin, "wombat", limit=1)["next_cursor"]
    assert cursor
    for bad, params in (("garbage!!", {"q": "wombat"}), (cursor, {"q": "something else"})):
        response = admin.get("/api/search", params={**params, "cursor": bad})
        assert response.status_code == 400, response.text
        assert error_code(response) == "INVALID_CURSOR"


def test_snippets_are_safe_text_with_offsets(admin: Account, owner_sql: Any) -> None:
    body = (
        "<script>alert('x')</script> Intro text here. The capybara said <b>hello</b> to "
        "everyone & left, as 1 < 2. \ue000fake marker\ue001 more words after the capybara."
    )
    put(owner_sql, admin, "<img src=x onerror=alert(1)> Capybara", body)
    (item,) = search(admin, "capybara")["items"]
    snippet = snippet_of(item)
    # Only our own <mark> tags are markup; everything from the document is escaped text.
    assert snippet["html"].replace("<mark>", "").replace("</mark>", "").count("<") == 0
    assert "1 &lt; 2" in snippet["html"]
    assert "&amp;" in snippet["html"]
    assert not {"\ue000", "\ue001"} & set(snippet["text"])
    marked = [snippet["text"][s:e] for s, e in snippet["highlights"]]
    assert marked
    assert all(m.lower() == "capybara" for m in marked)
    assert snippet["html"].count("<mark>") == len(marked)
    unmarked = snippet["html"].replace("<mark>", "").replace("</mark>", "")
    assert html.unescape(unmarked) == snippet["text"]


def snippet_of(item: dict[str, Any]) -> dict[str, Any]:
    snippet: dict[str, Any] = item["snippet"]
    return snippet


def test_request_errors(admin: Account) -> None:
    response = admin.get("/api/search", params={"q": "x", "mode": "fuzzy"})
    assert response.status_code == 400, response.text
    assert error_code(response) == "SEARCH_MODE_UNAVAILABLE"
    assert response.json()["error"]["details"]["available"] == ["keyword", "semantic", "hybrid"]
    for params in (
        {"q": " "},
        {"q": "x" * 501},
        {"q": "a\x00b"},
        {"q": "x", "limit": 0},
        {"q": "x", "limit": 51},
        {},
    ):
        response = admin.get("/api/search", params=params)
        assert response.status_code == 400, (params, response.text)
        assert error_code(response) == "VALIDATION_ERROR"
    response = admin.client.get(
        "/api/search", params={"q": "x"}, headers={"X-Tenant-Subdomain": admin.subdomain}
    )
    assert response.status_code == 401
    assert error_code(response) == "UNAUTHENTICATED"


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_the_full_text_index_answers_searches_under_row_level_security(
    admin: Account, owner_sql: Any, app_sql: Any, role: str
) -> None:
    """RLS lets an index answer `@@` ahead of the tenant policy only if the operator is
    LEAKPROOF (set up with the embedded database); without it every search reads all of the
    tenant's rows, whatever the index. (The table is small here, so seq scans are off.)"""
    with owner_sql.transaction():
        owner_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant_id,))
        owner_sql.execute(
            "INSERT INTO documents (tenant_id, title, body, status) SELECT %s, 'Filler ' || n, "
            "'ordinary words about nothing much ' || n, 'published' "
            "FROM generate_series(1, 3000) AS n",
            (admin.tenant_id,),
        )
    put(owner_sql, admin, "Needle", "quokkarare")
    # VACUUM also moves the new rows from the index's pending list into the index proper.
    owner_sql.execute("VACUUM ANALYZE documents")
    principal = Principal(
        user_id=uuid.UUID(admin.user_id), email="", name="", role=role, is_superadmin=False
    )
    query, params = repo.statement(principal=principal, parsed=parse("quokkarare"), limit=21)
    compiled = query.compile(dialect=pg_dialect.dialect())
    with app_sql.transaction():
        app_sql.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant_id,))
        app_sql.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            row[0]
            for row in app_sql.execute("EXPLAIN " + str(compiled), {**compiled.params, **params})
        )
    assert "Bitmap Index Scan on ix_documents_search_vector" in plan, plan
    assert ids(search(admin, "quokkarare"))


def test_snippets_of_long_documents_show_the_match(admin: Account, owner_sql: Any) -> None:
    filler = "Nothing to see in this sentence about weather. " * 400  # ~19,000 characters
    put(owner_sql, admin, "Long read", filler + "Finally the axolotl appears here. " + filler)
    put(owner_sql, admin, "Irish names", "Notes on O'Reilly's books and axolotl care.")
    page = search(admin, "axolotl")
    snippets = {item["title"]: item["snippet"] for item in page["items"]}
    long = snippets["Long read"]
    assert long["text"].startswith("…")
    assert [long["text"][s:e] for s, e in long["highlights"]] == ["axolotl"]
    assert ids(search(admin, "O'Reilly's"))  # a quote in a term survives the snippet's search
    assert search(admin, "'")["items"] == []
