"""Matrix entries for collaboration: a ticket for B's document (the socket itself is tested in
tests/collab/test_access.py: A's tickets are refused for B's documents)."""

from __future__ import annotations

from tests.matrix.core import Target
from tests.matrix.documents import _b_document

ENTRIES: dict[tuple[str, str], Target] = {
    ("POST", "/api/documents/{document_id}/collab-ticket"): Target(
        "object", lambda w: f"/api/documents/{_b_document(w)['id']}/collab-ticket"
    ),
}
