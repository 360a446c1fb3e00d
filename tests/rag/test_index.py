"""The index follows documents: create, edit, publish, restore, delete (RAG-2)."""

from __future__ import annotations

from tests.conftest import Account, TestDatabase
from tests.rag.conftest import chunks_of, create, publish, run_jobs, search
from tynebase.settings import Settings

GUIDE = """Intro to the handbook.

# Expenses

Submit receipts within thirty days. Travel costs are reimbursed after approval by a manager.

## Mileage

Private car journeys are paid per kilometre driven on company business.
"""


def test_index_follows_create_edit_publish_delete(
    settings: Settings, database: TestDatabase, admin: Account
) -> None:
    document = create(admin, "Staff handbook", GUIDE)
    assert chunks_of(database, admin, document["id"]) == []  # queued, not yet run
    run_jobs(settings, database)
    chunks = chunks_of(database, admin, document["id"])
    assert [c[1] for c in chunks] == [
        "Staff handbook",
        "Staff handbook > Expenses",
        "Staff handbook > Expenses > Mileage",
    ]
    assert all(c[3] == 1 and c[4] == 256 for c in chunks)
    found = search(admin, "how are car journeys refunded", mode="semantic")
    assert found[0]["id"] == document["id"]

    # An edit of a draft changes what the index holds.
    edited = admin.request(
        "PATCH",
        f"/api/documents/{document['id']}",
        json={"body": GUIDE + "\n## Parking\n\nAirport parking fees are never reimbursed.\n"},
    )
    assert edited.status_code == 200, edited.text
    run_jobs(settings, database)
    assert (
        chunks_of(database, admin, document["id"])[-1][1] == "Staff handbook > Expenses > Parking"
    )

    # Publishing makes version 2; the chunks say so.
    publish(admin, document["id"])
    run_jobs(settings, database)
    assert {c[3] for c in chunks_of(database, admin, document["id"])} == {2}

    # Deleting removes the chunks in the same transaction, before any job runs.
    assert admin.request("DELETE", f"/api/documents/{document['id']}").status_code == 204
    assert chunks_of(database, admin, document["id"]) == []
    assert search(admin, "airport parking fees", mode="hybrid") == []
