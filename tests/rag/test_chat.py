"""Chat (RAG-4): streamed answers with checked citations, extractive without a language model,
"not found" said plainly, conversations stored per user."""

from __future__ import annotations

from tests.conftest import Account, Accounts, TestDatabase, error_code
from tests.rag.conftest import answer_of, ask, create, publish, run_jobs
from tynebase.rag.chat import EXTRACTIVE_LABEL, NOT_FOUND_ANSWER
from tynebase.settings import Settings

VPN = """# Remote access

Connect to the office network with the WireGuard VPN client. Ask the service desk for a
configuration file; each laptop gets its own key.

# Troubleshooting

If the VPN tunnel drops every few minutes, switch off the laptop's power saving for Wi-Fi.
"""


def test_extractive_answer_cites_the_passages(
    settings: Settings, database: TestDatabase, admin: Account
) -> None:
    vpn = create(admin, "VPN guide", VPN)
    publish(admin, vpn["id"])
    create(admin, "Lunch menu", "Soup on Mondays, pasta on Tuesdays, fish on Fridays.")
    run_jobs(settings, database)

    events = ask(admin, "How do I connect to the office network with the VPN?")
    kind, text, cited = answer_of(events)
    assert kind == "extractive"
    assert text.startswith(EXTRACTIVE_LABEL)
    assert "WireGuard VPN client" in text
    assert cited["dropped"] == []
    first = cited["citations"][0]
    assert f"[{first['n']}]" in text
    assert first["document_id"] == vpn["id"]
    assert first["title"] == "VPN guide"
    assert first["version_number"] == 2
    assert first["version_id"]
    assert first["snippet"] in " ".join(VPN.split())
    assert {c["document_id"] for c in cited["citations"]} == {vpn["id"]}

    # The conversation is stored, for its user only.
    session_id = events[0][1]["session_id"]
    listed = admin.get("/api/ai/chats").json()
    assert [c["id"] for c in listed] == [session_id]
    detail = admin.get(f"/api/ai/chats/{session_id}").json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant"]
    assert detail["messages"][1]["answer_kind"] == "extractive"
    assert detail["messages"][1]["citations"] == cited["citations"]

    # A follow-up continues the same conversation.
    again = ask(admin, "What if the VPN tunnel keeps dropping?", session_id=session_id)
    _, text, _ = answer_of(again)
    assert "power saving" in text
    assert len(admin.get(f"/api/ai/chats/{session_id}").json()["messages"]) == 4


def test_not_found_is_said_plainly(
    settings: Settings, database: TestDatabase, admin: Account
) -> None:
    create(admin, "VPN guide", VPN)
    run_jobs(settings, database)
    kind, text, cited = answer_of(ask(admin, "Which wine pairs with grilled octopus?"))
    assert kind == "not_found"
    assert text == NOT_FOUND_ANSWER
    assert "not found in the knowledge base" in text.lower()
    assert cited == {"citations": [], "dropped": []}


def test_chat_never_cites_what_the_caller_may_not_read(
    settings: Settings, database: TestDatabase, accounts: Accounts, admin: Account
) -> None:
    viewer = accounts.member(admin, "viewer")
    create(admin, "VPN guide", VPN)  # a draft: viewers do not see it
    run_jobs(settings, database)
    kind, _, cited = answer_of(ask(viewer, "How do I connect to the office network with the VPN?"))
    assert kind == "not_found"
    assert cited["citations"] == []


def test_chats_are_private_to_their_user(
    settings: Settings, accounts: Accounts, admin: Account
) -> None:
    editor = accounts.member(admin, "editor")
    events = ask(admin, "Anything about parking?")
    session_id = events[0][1]["session_id"]
    for response in (
        editor.get(f"/api/ai/chats/{session_id}"),
        editor.post("/api/ai/chat", json={"question": "more?", "session_id": session_id}),
    ):
        assert response.status_code == 404, response.text
        assert error_code(response) == "CHAT_NOT_FOUND"
    assert editor.get("/api/ai/chats").json() == []
    bad = admin.post("/api/ai/chat", json={"question": ""})
    assert bad.status_code == 400
    assert error_code(bad) == "VALIDATION_ERROR"
