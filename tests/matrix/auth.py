"""Matrix entries for identity: auth, sessions, API keys, members, invites, the tenant."""

from __future__ import annotations

from typing import Any

from tests.conftest import Account, unique
from tests.matrix.core import Target, World, _path


def _login_body(_world: World, holder: Account) -> dict[str, Any]:
    return {"email": holder.email, "password": holder.password}


def _refresh_body(_world: World, holder: Account) -> dict[str, Any]:
    return {"refresh_token": holder.refresh_token}


def _accept_body(world: World, holder: Account) -> dict[str, Any]:
    invite = world.b_invite if holder is world.b else world.a_invite
    return {"token": invite["token"], "name": "Someone New", "password": "mellow-otter-tuba-91"}


# (method, route template) -> how to attack it. Every tenant-scoped route must be here.
ENTRIES: dict[tuple[str, str], Target] = {
    # A user of one workspace logging into another: the password is right, the membership is not.
    ("POST", "/api/auth/login"): Target("credential", _path("/api/auth/login"), _login_body),
    # Refresh tokens live in RLS-protected rows: another workspace cannot even find them.
    ("POST", "/api/auth/refresh"): Target(
        "credential",
        _path("/api/auth/refresh"),
        _refresh_body,
        cross=frozenset({401}),
        wrong_tenant=frozenset({401}),
    ),
    ("POST", "/api/auth/logout"): Target("collection", _path("/api/auth/logout")),
    ("GET", "/api/auth/me"): Target("collection", _path("/api/auth/me")),
    ("GET", "/api/auth/sessions"): Target("collection", _path("/api/auth/sessions")),
    ("DELETE", "/api/auth/sessions/{session_id}"): Target(
        "object", lambda w: f"/api/auth/sessions/{w.b_session_id}"
    ),
    ("GET", "/api/api-keys"): Target("collection", _path("/api/api-keys")),
    ("POST", "/api/api-keys"): Target(
        "collection", _path("/api/api-keys"), lambda _w, _h: {"name": "made by A", "scope": "read"}
    ),
    ("DELETE", "/api/api-keys/{key_id}"): Target(
        "object", lambda w: f"/api/api-keys/{w.b_api_key['id']}"
    ),
    ("POST", "/api/api-keys/{key_id}/rotate"): Target(
        "object",
        lambda w: f"/api/api-keys/{w.b_api_key['id']}/rotate",
        lambda _w, _h: {"overlap_hours": 0},
    ),
    ("GET", "/api/users"): Target("collection", _path("/api/users")),
    ("GET", "/api/users/{user_id}"): Target("object", lambda w: f"/api/users/{w.b_member.user_id}"),
    ("PATCH", "/api/users/{user_id}"): Target(
        "object",
        lambda w: f"/api/users/{w.b_member.user_id}",
        lambda _w, _h: {"role": "admin", "status": "suspended"},
    ),
    ("DELETE", "/api/users/{user_id}"): Target(
        "object", lambda w: f"/api/users/{w.b_member.user_id}"
    ),
    ("GET", "/api/invites"): Target("collection", _path("/api/invites")),
    ("POST", "/api/invites"): Target(
        "collection",
        _path("/api/invites"),
        lambda _w, _h: {"email": f"{unique('x')}@example.com", "role": "viewer"},
    ),
    ("DELETE", "/api/invites/{invite_id}"): Target(
        "object", lambda w: f"/api/invites/{w.b_invite['id']}"
    ),
    # Invite tokens are found through RLS: B's token is unknown in A's workspace and vice versa.
    ("POST", "/api/invites/accept"): Target(
        "credential",
        _path("/api/invites/accept"),
        _accept_body,
        cross=frozenset({404}),
        wrong_tenant=frozenset({404}),
    ),
    ("GET", "/api/tenant"): Target("collection", _path("/api/tenant")),
}

# /api routes that are not tenant-scoped, and why. Everything else under /api must be in MATRIX.
NON_TENANT_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/api/auth/signup"): "creates a user and a new workspace; there is no tenant yet",
    ("POST", "/api/auth/confirm"): "single-use email token of a (platform-wide) user",
    ("POST", "/api/auth/confirm/resend"): "by email address, same answer whether it exists or not",
    ("POST", "/api/auth/password/forgot"): "by email address, same answer whether it exists or not",
    ("POST", "/api/auth/password/reset"): "single-use email token of a (platform-wide) user",
    ("GET", "/api/docs"): "static Swagger UI page, no data",
}
