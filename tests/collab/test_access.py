"""COL-2 and COL-5: tickets (single use, short-lived, per tenant and document), read-only
viewers, and sockets closed when access is revoked, suspended or lowered."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import psycopg
import pytest
import websockets

from tests.collab.conftest import (
    CollabProcess,
    async_wait_for,
    issue_ticket,
    new_document,
    stored_state,
    stored_text,
    ticket_source,
    wait_for,
)
from tests.collab.yclient import YClient
from tests.conftest import Account, Accounts, TestDatabase
from tests.matrix.documents import act
from tynebase.collab.codes import CloseCode
from tynebase.db.engine import libpq_url


async def _refused(url: str, document_id: str, ticket: str, **headers: str) -> tuple[int, int]:
    """Connect and read until the server closes: (close code, bytes received before)."""
    received = 0
    async with websockets.connect(
        f"{url}/{document_id}?ticket={ticket}", additional_headers=headers
    ) as ws:
        try:
            async for message in ws:
                received += len(message)
        except websockets.ConnectionClosed:
            pass
    assert ws.close_code is not None
    return ws.close_code, received


def _refusal(collab: CollabProcess, document_id: str, ticket: str, **headers: str) -> int:
    code, received = asyncio.run(_refused(collab.ws, document_id, ticket, **headers))
    assert received == 0, "nothing may be sent before the ticket is accepted"
    return code


def test_ticket_is_single_use(collab: CollabProcess, admin: Account) -> None:
    document_id = new_document(admin, body="x")
    ticket = issue_ticket(admin, document_id)
    assert ticket["read_only"] is False
    assert ticket["room"] == document_id
    assert ticket["url"].startswith("ws")

    async def scenario() -> int:
        client = YClient(collab.ws, document_id, ticket_source(admin, document_id))
        await client.connect(ticket["ticket"])
        assert client.value() == "x"
        code, _ = await _refused(collab.ws, document_id, ticket["ticket"])
        await client.close()
        return code

    assert asyncio.run(scenario()) == CloseCode.TICKET_INVALID


@pytest.mark.parametrize("ticket", ["", "nonsense", "tb_c" + "0" * 32 + "_" + "a" * 43])
def test_missing_or_made_up_tickets_are_refused(
    collab: CollabProcess, admin: Account, ticket: str
) -> None:
    document_id = new_document(admin)
    assert _refusal(collab, document_id, ticket) == CloseCode.TICKET_INVALID


def test_expired_ticket(collab: CollabProcess, admin: Account, database: TestDatabase) -> None:
    document_id = new_document(admin)
    ticket = issue_ticket(admin, document_id)["ticket"]
    with psycopg.connect(libpq_url(database.urls.owner), autocommit=True) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (admin.tenant_id,))
        conn.execute(
            "UPDATE collab_tickets SET expires_at = now() - interval '1 second' "
            "WHERE document_id = %s",
            (document_id,),
        )
    assert _refusal(collab, document_id, ticket) == CloseCode.TICKET_EXPIRED


def test_cross_tenant_tickets_are_refused(
    collab: CollabProcess, admin: Account, other_admin: Account
) -> None:
    mine = new_document(admin, body="A's text")
    theirs = new_document(other_admin, body="B's secret")
    # B's document cannot even get a ticket from A (the same 404 as for a missing document).
    response = admin.post(f"/api/documents/{theirs}/collab-ticket")
    assert response.status_code == 404
    # A's ticket (for A's document) presented for B's document.
    assert _refusal(collab, theirs, issue_ticket(admin, mine)["ticket"]) == CloseCode.WRONG_TENANT
    # B's secret under A's tenant prefix finds nothing: the hash covers the tenant part.
    secret = issue_ticket(other_admin, theirs)["ticket"].split("_", 2)[2]
    forged = f"tb_c{admin.tenant_id.replace('-', '')}_{secret}"
    assert _refusal(collab, theirs, forged) == CloseCode.TICKET_INVALID
    # A valid ticket sent to the other workspace's host name.
    code = _refusal(
        collab,
        mine,
        issue_ticket(admin, mine)["ticket"],
        **{"X-Tenant-Subdomain": other_admin.subdomain},
    )
    assert code == CloseCode.WRONG_TENANT


def test_viewers_read_but_their_writes_are_refused(
    collab: CollabProcess, admin: Account, accounts: Accounts, database: TestDatabase
) -> None:
    viewer = accounts.member(admin, "viewer")
    document_id = act(admin, new_document(admin, body="published\n"), "publish")["id"]
    assert issue_ticket(viewer, document_id)["read_only"] is True

    async def scenario() -> None:
        writer = YClient(collab.ws, document_id, ticket_source(admin, document_id))
        reader = YClient(collab.ws, document_id, ticket_source(viewer, document_id))
        await writer.connect()
        await reader.connect()
        assert reader.value() == "published\n"
        reader.type("viewer was here")
        await reader.flush()
        await async_wait_for(lambda: reader.denied >= 1, what="permission denied")
        # Live edits still reach the viewer.
        writer.type("editor text\n")
        await async_wait_for(lambda: "editor text" in reader.value(), what="edit reaches viewer")
        await writer.close()
        await reader.close()
        assert "viewer was here" not in writer.value()

    asyncio.run(scenario())
    snapshot, updates = stored_state(database.urls.owner, admin.tenant_id, document_id)
    from pycrdt import Doc, Text

    doc: Doc[Any] = Doc()
    for update in [snapshot or b"", *updates]:
        doc.apply_update(update)
    stored = str(doc.get("markdown", type=Text))
    assert "editor text" in stored
    assert "viewer was here" not in stored
    assert 'reason="READ_ONLY"' in collab.metrics()


def test_maintenance_makes_every_socket_read_only(
    collab: CollabProcess, admin: Account, database: TestDatabase
) -> None:
    """OPS-8 for the editor: while maintenance is on, edits are refused like a viewer's (and the
    client keeps them); once it is off the same socket writes again."""
    document_id = new_document(admin, body="before\n")
    owner = psycopg.connect(libpq_url(database.urls.owner), autocommit=True)

    async def scenario() -> None:
        writer = YClient(collab.ws, document_id, ticket_source(admin, document_id))
        await writer.connect()
        owner.execute(
            "INSERT INTO maintenance_windows (id, message, starts_at, read_only) "
            "VALUES (gen_random_uuid(), 'collab test', now(), true)"
        )
        try:
            # The process notices within its maintenance cache interval: type until refused.
            while writer.denied == 0:
                writer.type("during ")
                await writer.flush()
                await asyncio.sleep(0.1)
        finally:
            owner.execute("UPDATE maintenance_windows SET ended_at = now() WHERE ended_at IS NULL")
        writer.type("after maintenance")
        await writer.flush()
        await async_wait_for(
            lambda: (
                "after maintenance"
                in (stored_text(database.urls.owner, admin.tenant_id, document_id) or "")
            ),
            what="writes accepted again",
        )
        await writer.close()

    try:
        asyncio.run(scenario())
    finally:
        owner.close()
    assert 'reason="MAINTENANCE"' in collab.metrics()
    # The API's own maintenance cache has caught up too before the next test writes.
    wait_for(
        lambda: admin.post("/api/documents", json={"title": "after"}).status_code == 201,
        what="API writes accepted again",
    )


async def _open(collab: CollabProcess, account: Account, document_id: str) -> YClient:
    client = YClient(collab.ws, document_id, ticket_source(account, document_id))
    await client.connect()
    return client


def _session_id(account: Account) -> str:
    sessions = account.get("/api/auth/sessions").json()
    return str(next(s["id"] for s in sessions if s["current"]))


def test_revoking_the_session_closes_its_sockets(collab: CollabProcess, admin: Account) -> None:
    document_id = new_document(admin)

    async def scenario() -> int:
        client = await _open(collab, admin, document_id)
        session = _session_id(admin)
        response = await asyncio.to_thread(admin.request, "DELETE", f"/api/auth/sessions/{session}")
        assert response.status_code == 204
        code = await client.closed_code()
        return code

    assert asyncio.run(scenario()) == CloseCode.SESSION_REVOKED


def test_suspending_a_member_closes_their_sockets_only(
    collab: CollabProcess, admin: Account, accounts: Accounts
) -> None:
    editor = accounts.member(admin, "editor")
    document_id = new_document(admin)

    async def scenario() -> int:
        theirs = await _open(collab, editor, document_id)
        mine = await _open(collab, admin, document_id)
        response = await asyncio.to_thread(
            admin.request, "PATCH", f"/api/users/{editor.user_id}", json={"status": "suspended"}
        )
        assert response.status_code == 200, response.text
        code = await theirs.closed_code()
        # The admin's socket is still served.
        mine.type("still here")
        await mine.flush()
        await asyncio.sleep(0.2)
        assert not mine.close_codes
        await mine.close()
        return code

    assert asyncio.run(scenario()) == CloseCode.ACCESS_REVOKED


def test_lowering_a_role_closes_writable_sockets(
    collab: CollabProcess, admin: Account, accounts: Accounts
) -> None:
    editor = accounts.member(admin, "editor")
    viewer = accounts.member(admin, "viewer")
    document_id = act(admin, new_document(admin, body="published\n"), "publish")["id"]

    async def scenario() -> int:
        writable = await _open(collab, editor, document_id)
        read_only = await _open(collab, viewer, document_id)
        # The editor becomes a viewer: may still read the published text, no longer write.
        response = await asyncio.to_thread(
            admin.request, "PATCH", f"/api/users/{editor.user_id}", json={"role": "viewer"}
        )
        assert response.status_code == 200, response.text
        code = await writable.closed_code()
        # Sockets that were read-only anyway stay open (the change was not about them).
        await asyncio.sleep(0.2)
        assert not read_only.close_codes
        await read_only.close()
        return code

    assert asyncio.run(scenario()) == CloseCode.ROLE_CHANGED
    # Their next ticket is read-only.
    assert issue_ticket(editor, document_id)["read_only"] is True


def test_losing_read_access_closes_with_document_not_found(
    collab: CollabProcess, admin: Account, accounts: Accounts
) -> None:
    editor = accounts.member(admin, "editor")
    document_id = new_document(admin, body="draft by admin\n")

    async def scenario() -> int:
        client = await _open(collab, editor, document_id)
        # A contributor may not read someone else's draft.
        response = await asyncio.to_thread(
            admin.request, "PATCH", f"/api/users/{editor.user_id}", json={"role": "contributor"}
        )
        assert response.status_code == 200, response.text
        return await client.closed_code()

    assert asyncio.run(scenario()) == CloseCode.DOCUMENT_NOT_FOUND


def test_suspending_the_workspace_closes_every_socket(
    collab: CollabProcess, admin: Account, database: TestDatabase
) -> None:
    document_id = new_document(admin)

    async def scenario() -> int:
        client = await _open(collab, admin, document_id)
        # What `tynebase tenant suspend` does: change the status and announce it (on commit).
        with psycopg.connect(libpq_url(database.urls.owner)) as conn:
            conn.execute(
                "UPDATE tenants SET status = 'suspended' WHERE id = %s", (admin.tenant_id,)
            )
            payload = json.dumps({"tenant_id": admin.tenant_id, "reason": "tenant suspended"})
            conn.execute("SELECT pg_notify('tynebase_access_changed', %s)", (payload,))
        return await client.closed_code()

    assert asyncio.run(scenario()) == CloseCode.TENANT_SUSPENDED


def test_deleting_the_document_closes_its_sockets(collab: CollabProcess, admin: Account) -> None:
    document_id = new_document(admin)

    async def scenario() -> int:
        client = await _open(collab, admin, document_id)
        response = await asyncio.to_thread(admin.request, "DELETE", f"/api/documents/{document_id}")
        assert response.status_code == 204
        client.type("into the void")
        return await client.closed_code()

    assert asyncio.run(scenario()) == CloseCode.DOCUMENT_NOT_FOUND
