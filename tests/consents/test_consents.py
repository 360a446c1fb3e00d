"""Consents (GDPR-2): AI processing, knowledge indexing and analytics, granted by default,
changeable at any time, held per person across workspaces. (CONSENT_REQUIRED from the AI
features: tests/ai/generation.)"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import psycopg
import pytest

from tests.conftest import Account, Accounts, TestDatabase, error_code, latest_mail_token
from tynebase.consents import service
from tynebase.consents.service import ConsentRequired
from tynebase.db.engine import Database
from tynebase.settings import Settings


def consents(account: Account) -> dict[str, Any]:
    response = account.get("/api/me/consents")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def check(database: TestDatabase, settings: Settings, user_id: str, kind: Any) -> bool:
    async def main() -> bool:
        db = Database(database.urls, settings)
        try:
            async with db.unit_of_work() as conn:
                return await service.check_consent(conn, UUID(user_id), kind)
        finally:
            await db.dispose()

    return asyncio.run(main())


def test_granted_by_default_and_changeable_any_time(
    admin: Account,
    database: TestDatabase,
    settings: Settings,
    owner_sql: psycopg.Connection[Any],
) -> None:
    assert consents(admin) == {
        "ai_processing": True,
        "knowledge_indexing": True,
        "analytics": True,
        "updated_at": None,
    }
    assert check(database, settings, admin.user_id, "knowledge_indexing")

    refused = admin.request("PUT", "/api/me/consents", json={"knowledge_indexing": False})
    assert refused.status_code == 200, refused.text
    body = refused.json()
    assert (body["ai_processing"], body["knowledge_indexing"], body["analytics"]) == (
        True,
        False,
        True,
    )
    assert body["updated_at"] is not None
    assert consents(admin)["knowledge_indexing"] is False
    assert not check(database, settings, admin.user_id, "knowledge_indexing")
    assert check(database, settings, admin.user_id, "ai_processing")

    # Saying the same again records nothing new; changing back does.
    admin.request("PUT", "/api/me/consents", json={"knowledge_indexing": False, "analytics": True})
    admin.request("PUT", "/api/me/consents", json={"knowledge_indexing": True})
    assert consents(admin)["knowledge_indexing"] is True
    events = owner_sql.execute(
        "SELECT kind, granted FROM user_consent_events WHERE user_id = %s ORDER BY id",
        (admin.user_id,),
    ).fetchall()
    assert [tuple(e) for e in events] == [
        ("knowledge_indexing", False),
        ("knowledge_indexing", True),
    ]


def test_unknown_consents_and_bad_values_are_refused(admin: Account) -> None:
    for body in ({"marketing": False}, {"analytics": "maybe"}, {"analytics": 0}):
        response = admin.request("PUT", "/api/me/consents", json=body)
        assert response.status_code == 400, response.text
        assert error_code(response) == "VALIDATION_ERROR"
    with pytest.raises(ValueError, match="unknown consent"):
        asyncio.run(service.check_consent(None, UUID(admin.user_id), "marketing"))  # type: ignore[arg-type]


def test_a_persons_consents_hold_in_every_workspace(
    accounts: Accounts, admin: Account, other_admin: Account
) -> None:
    person = accounts.member(admin, "editor")
    invite = other_admin.post("/api/invites", json={"email": person.email, "role": "viewer"})
    assert invite.status_code == 201, invite.text
    token = latest_mail_token(accounts.owner_url, person.email, "invited")
    accepted = other_admin.client.post(
        "/api/invites/accept",
        json={"token": token},
        headers={"X-Tenant-Subdomain": other_admin.subdomain},
    )
    assert accepted.status_code == 201, accepted.text
    in_b = Account(
        client=person.client,
        email=person.email,
        password=person.password,
        user_id=person.user_id,
        tenant_id=other_admin.tenant_id,
        subdomain=other_admin.subdomain,
    ).login()
    person.request("PUT", "/api/me/consents", json={"ai_processing": False})
    assert consents(in_b)["ai_processing"] is False
    # Others' consents are their own.
    assert consents(admin)["ai_processing"] is True


def test_require_consent_raises_consent_required(
    admin: Account, database: TestDatabase, settings: Settings
) -> None:
    admin.request("PUT", "/api/me/consents", json={"ai_processing": False})

    async def main() -> None:
        db = Database(database.urls, settings)
        try:
            async with db.unit_of_work() as conn:
                await service.require_consent(conn, UUID(admin.user_id), "ai_processing")
        finally:
            await db.dispose()

    with pytest.raises(ConsentRequired) as refused:
        asyncio.run(main())
    assert (refused.value.status, refused.value.code) == (403, "CONSENT_REQUIRED")
    assert refused.value.details == {"consent": "ai_processing"}
