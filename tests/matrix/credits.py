"""Matrix entries for credits, consents, URL imports and the AI routes (generate, enhance,
apply, transcribe): A's calls answer about A only, and B's documents, files and suggestions are
unknown ids in A's workspace."""

from __future__ import annotations

import io
import wave
from typing import Any

from tests.conftest import unique
from tests.matrix.core import Target, World, _path
from tests.matrix.files import store_file


def _b_document(world: World) -> dict[str, Any]:
    """A draft of B's with a rule-found problem, and B's enhance suggestions for it."""

    def make() -> dict[str, Any]:
        body = "B's secret ai text with the the doubled word.\n"
        response = world.b.post("/api/documents", json={"title": unique("B ai "), "body": body})
        assert response.status_code == 201, response.text
        document: dict[str, Any] = response.json()
        enhanced = world.b.post("/api/ai/enhance", json={"document_id": document["id"]})
        assert enhanced.status_code == 200, enhanced.text
        document["suggestion_ids"] = [s["id"] for s in enhanced.json()["suggestions"]]
        assert document["suggestion_ids"]
        world.b_markers |= {document["id"], document["title"], "B's secret ai"}
        world.b_markers |= set(document["suggestion_ids"])
        return document

    return world.once("ai_document", make)


def _b_recording(world: World) -> dict[str, Any]:
    def make() -> dict[str, Any]:
        out = io.BytesIO()
        with wave.open(out, "wb") as recording:
            recording.setnchannels(1)
            recording.setsampwidth(2)
            recording.setframerate(8000)
            recording.writeframes(b"\x00\x01" * 800)
        stored = store_file(world.b, out.getvalue(), unique("b-meeting-") + ".wav")
        world.b_markers |= {stored["id"], stored["filename"]}
        return stored

    return world.once("recording", make)


def _with_b_document(key: str, extra: dict[str, Any] | None = None) -> Any:
    return lambda w, _h: {key: _b_document(w)["id"], **(extra or {})}


ENTRIES: dict[tuple[str, str], Target] = {
    # A's balance and ledger only (B has spent and holds credits by then).
    ("GET", "/api/credits"): Target("collection", lambda w: (_b_document(w), "/api/credits")[1]),
    ("GET", "/api/me/consents"): Target("collection", _path("/api/me/consents")),
    ("PUT", "/api/me/consents"): Target(
        "collection", _path("/api/me/consents"), lambda _w, _h: {"analytics": True}
    ),
    # Queued for A (the page is fetched later, by A's job); nothing of B involved.
    ("POST", "/api/imports/url"): Target(
        "collection",
        _path("/api/imports/url"),
        lambda _w, _h: {"url": "https://matrix.invalid/page"},
    ),
    # B's document as a source of A's generation: unknown in A's workspace.
    ("POST", "/api/ai/generate"): Target(
        "object",
        _path("/api/ai/generate"),
        lambda w, _h: {
            "kind": "summary",
            "prompt": "summarise",
            "options": {"document_ids": [_b_document(w)["id"]]},
        },
    ),
    ("POST", "/api/ai/enhance"): Target(
        "object", _path("/api/ai/enhance"), _with_b_document("document_id")
    ),
    # B's document with B's own (valid) suggestion ids.
    ("POST", "/api/ai/enhance/apply"): Target(
        "object",
        _path("/api/ai/enhance/apply"),
        lambda w, _h: {
            "document_id": _b_document(w)["id"],
            "suggestion_ids": _b_document(w)["suggestion_ids"],
        },
    ),
    ("POST", "/api/ai/transcribe"): Target(
        "object", _path("/api/ai/transcribe"), lambda w, _h: {"file_id": _b_recording(w)["id"]}
    ),
}
