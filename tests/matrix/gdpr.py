"""Matrix entries for privacy: the caller's own export and erasure, and erasure by an admin."""

from __future__ import annotations

from tests.matrix.core import Target, _path

ENTRIES: dict[tuple[str, str], Target] = {
    # A's own data only (never B's markers), and refused with A's token in B's workspace.
    ("GET", "/api/me/export"): Target("collection", _path("/api/me/export")),
    # With a wrong password A's own call is refused (403 PASSWORD_MISMATCH) and changes
    # nothing; A's token in B's workspace is refused before the password is looked at.
    ("DELETE", "/api/me"): Target(
        "object", _path("/api/me"), lambda _w, _h: {"password": "certainly-not-the-password"}
    ),
    # The same operations at SPEC section 12's paths.
    ("GET", "/api/gdpr/export"): Target("collection", _path("/api/gdpr/export")),
    ("POST", "/api/gdpr/delete-account"): Target(
        "object",
        _path("/api/gdpr/delete-account"),
        lambda _w, _h: {"password": "certainly-not-the-password"},
    ),
    ("GET", "/api/gdpr/consents"): Target("collection", _path("/api/gdpr/consents")),
    ("PUT", "/api/gdpr/consents"): Target(
        "collection", _path("/api/gdpr/consents"), lambda _w, _h: {"analytics": True}
    ),
    # B's member is unknown in A's workspace.
    ("POST", "/api/users/{user_id}/erase"): Target(
        "object", lambda w: f"/api/users/{w.b_member.user_id}/erase"
    ),
}
