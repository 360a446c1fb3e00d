"""The cross-tenant matrix (TEN-2): every tenant-scoped route, attacked from another tenant.

`tests.matrix.MATRIX` says, for each tenant-scoped route of the app, how to create the resource
it acts on in tenant B and how to call it. For every entry, tenant A's credentials (an access
token and an API key) must never reach B's data:

* A's credentials against B's ids (sent to A's workspace) get 404/403; a route without ids
  (a collection, "me") answers for A only and never shows anything of B;
* A's credentials sent to B's workspace (by `X-Tenant-Subdomain` and by Host) get 401/403;
* afterwards B's rows are unchanged (read through the owner role with B as the tenant) and B's own
  credentials still work.

`test_every_tenant_route_is_in_the_matrix` walks `app.routes` and fails for any /api route that is
neither in `MATRIX` nor in the commented `NON_TENANT_ROUTES` allow-list, so a new route cannot skip
the matrix.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg import sql

from tests.conftest import Account, Accounts, error_code, latest_mail_token
from tests.matrix import MATRIX, NON_TENANT_ROUTES
from tests.matrix.core import WRONG_TENANT, Target, World, create_key


def _api_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route under /api, including those of included routers."""
    try:  # FastAPI >= 0.16x keeps included routers lazily; this expands them
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI flattens routes itself
        routes: list[Any] = list(app.routes)
    else:
        routes = list(iter_route_contexts(app.routes))
    for route in routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str) or not (path == "/api" or path.startswith("/api/")):
            continue
        methods = set(getattr(route, "methods", None) or {"*"})  # websocket or mount: any method
        if "GET" in methods:
            methods.discard("HEAD")  # Starlette adds HEAD to every GET route
        for method in sorted(methods):
            yield method, path


def test_every_tenant_route_is_in_the_matrix(client: TestClient) -> None:
    app = client.app
    assert isinstance(app, FastAPI)
    routes = set(_api_routes(app))
    assert ("GET", "/api/auth/me") in routes, "the route walker found nothing: fix _api_routes"
    missing = routes - MATRIX.keys() - NON_TENANT_ROUTES.keys()
    assert not missing, (
        f"tenant-scoped routes missing from the cross-tenant MATRIX: {sorted(missing)}; add an "
        "entry (or, for a route that is not tenant-scoped, to NON_TENANT_ROUTES with the reason)"
    )
    stale = (MATRIX.keys() | NON_TENANT_ROUTES.keys()) - routes
    assert not stale, f"entries for routes the app does not have: {sorted(stale)}"
    assert not MATRIX.keys() & NON_TENANT_ROUTES.keys()


# --- B's data, as the database holds it -----------------------------------------------------------

TENANT_TABLES_SQL = """
SELECT c.relname FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1
"""


def tenant_snapshot(conn: psycopg.Connection[Any], tenant_id: str) -> dict[str, list[str]]:
    """Every row of the tenant (tenant tables, its tenants row, its members' users rows)."""
    tables = [name for (name,) in conn.execute(TENANT_TABLES_SQL)]
    assert tables
    snapshot: dict[str, list[str]] = {}
    with conn.transaction():
        # The owner is subject to FORCE RLS too: it reads B's rows as tenant B.
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        for table in tables:
            query = sql.SQL("SELECT to_jsonb(t)::text FROM {} t WHERE tenant_id = %s").format(
                sql.Identifier(table)
            )
            snapshot[table] = sorted(row[0] for row in conn.execute(query, (tenant_id,)))
        snapshot["tenants"] = [
            row[0]
            for row in conn.execute(
                "SELECT to_jsonb(t)::text FROM tenants t WHERE id = %s", (tenant_id,)
            )
        ]
        snapshot["users"] = sorted(
            row[0]
            for row in conn.execute(
                "SELECT to_jsonb(u)::text FROM users u JOIN memberships m ON m.user_id = u.id "
                "WHERE m.tenant_id = %s",
                (tenant_id,),
            )
        )
    assert snapshot["memberships"], "the snapshot sees nothing of the tenant"
    assert snapshot["tenants"], "the snapshot sees nothing of the tenant"
    return snapshot


# --- the matrix ----------------------------------------------------------------------------------


def _call(
    client: TestClient,
    method: str,
    path: str,
    *,
    headers: dict[str, str],
    body: dict[str, Any] | None,
) -> Any:
    return client.request(method, path, headers=headers, json=body)


def _bearer(credential: str, subdomain: str, *, by_host: bool = False) -> dict[str, str]:
    tenant = {"Host": f"{subdomain}.localhost"} if by_host else {"X-Tenant-Subdomain": subdomain}
    return {**tenant, "Authorization": f"Bearer {credential}"}


def _attack_with_bearer(world: World, method: str, target: Target) -> None:
    a, b, client = world.a, world.b, world.a.client
    path = target.path(world)
    # The API key goes first: a collection call such as logout may end A's session.
    for label, credential in (("api key", world.a_api_key), ("access token", a.access_token)):
        for by_host in (False, True):
            response = _call(
                client,
                method,
                path,
                body=target.body(world, a),
                headers=_bearer(credential, b.subdomain, by_host=by_host),
            )
            where = "Host" if by_host else "X-Tenant-Subdomain"
            assert response.status_code in target.wrong_tenant, (
                f"A's {label} with B's workspace ({where}) on {method} {path}: "
                f"{response.status_code} {response.text}"
            )
            error_code(response)
        response = _call(
            client,
            method,
            path,
            body=target.body(world, a),
            headers=_bearer(credential, a.subdomain),
        )
        if target.kind == "object":
            assert response.status_code in target.cross, (
                f"A's {label} against B's id: {method} {path}: "
                f"{response.status_code} {response.text}"
            )
            error_code(response)
        else:
            assert response.status_code < 300, (
                f"A's {label} on its own {method} {path}: {response.status_code} {response.text}"
            )
            leaked = {marker for marker in world.b_markers if marker in response.text}
            assert not leaked, f"{method} {path} showed A something of B: {leaked}"


def _attack_with_credential(world: World, method: str, target: Target) -> None:
    a, b, client = world.a, world.b, world.a.client
    path = target.path(world)
    response = _call(
        client,
        method,
        path,
        body=target.body(world, b),
        headers={"X-Tenant-Subdomain": a.subdomain},
    )
    assert response.status_code in target.cross, (
        f"B's credential sent to A's workspace: {method} {path}: "
        f"{response.status_code} {response.text}"
    )
    error_code(response)
    response = _call(
        client,
        method,
        path,
        body=target.body(world, a),
        headers={"X-Tenant-Subdomain": b.subdomain},
    )
    assert response.status_code in target.wrong_tenant, (
        f"A's credential sent to B's workspace: {method} {path}: "
        f"{response.status_code} {response.text}"
    )
    error_code(response)


@pytest.fixture
def world(accounts: Accounts, admin: Account, other_admin: Account) -> World:
    return World(accounts=accounts, a=admin, b=other_admin)


@pytest.mark.parametrize(("method", "route"), sorted(MATRIX), ids=lambda v: str(v))
def test_cross_tenant(
    method: str, route: str, world: World, owner_sql: psycopg.Connection[Any]
) -> None:
    target = MATRIX[(method, route)]
    # B's resources exist before the snapshot (so the attack cannot be what made them).
    target.path(world)
    target.body(world, world.b)
    world.b_api_key  # noqa: B018 - B's key must keep working, whatever the route
    before = tenant_snapshot(owner_sql, world.b.tenant_id)

    if target.kind == "credential":
        _attack_with_credential(world, method, target)
    else:
        _attack_with_bearer(world, method, target)

    assert tenant_snapshot(owner_sql, world.b.tenant_id) == before, "B's data changed"
    # B's own session and API key still work, in B.
    assert world.b.get("/api/auth/me").status_code == 200
    me = world.b.client.get(
        "/api/auth/me", headers=_bearer(world.b_api_key["key"], world.b.subdomain)
    )
    assert me.status_code == 200, me.text
    assert me.json()["tenant"]["id"] == world.b.tenant_id


def test_token_of_one_workspace_is_refused_by_another_even_for_a_member_of_both(
    accounts: Accounts, admin: Account, other_admin: Account, owner_sql: psycopg.Connection[Any]
) -> None:
    """One person, member of A (editor) and B (admin): each workspace's credentials stay in it,
    and A's admin acting on that person changes nothing in B."""
    a, b = admin, other_admin
    person = accounts.member(a, "editor")
    invite = b.post("/api/invites", json={"email": person.email, "role": "admin"})
    assert invite.status_code == 201, invite.text
    token = latest_mail_token(accounts.owner_url, person.email, "invited")
    accepted = b.client.post(
        "/api/invites/accept", json={"token": token}, headers={"X-Tenant-Subdomain": b.subdomain}
    )
    assert accepted.status_code == 201, accepted.text
    in_b = Account(
        client=b.client,
        email=person.email,
        password=person.password,
        user_id=person.user_id,
        tenant_id=b.tenant_id,
        subdomain=b.subdomain,
    ).login()
    a_key = create_key(person, "write")["key"]

    # Each token and key works only in the workspace it was issued for.
    assert person.get("/api/auth/me").json()["role"] == "editor"
    assert in_b.get("/api/auth/me").json()["role"] == "admin"
    for credential in (person.access_token, a_key):
        response = b.client.get("/api/users", headers=_bearer(credential, b.subdomain))
        assert response.status_code == 401, response.text
    response = a.client.get("/api/users", headers=_bearer(in_b.access_token, a.subdomain))
    assert response.status_code == 401, response.text
    assert error_code(response) == "INVALID_TOKEN"

    # A's admin suspends, then removes, the person in A: B is untouched (only RLS scopes these
    # updates, which name the user and not the tenant).
    before = tenant_snapshot(owner_sql, b.tenant_id)
    suspended = a.request("PATCH", f"/api/users/{person.user_id}", json={"status": "suspended"})
    assert suspended.status_code == 200, suspended.text
    assert person.get("/api/auth/me").status_code in WRONG_TENANT
    removed = a.request("DELETE", f"/api/users/{person.user_id}")
    assert removed.status_code == 204, removed.text
    assert tenant_snapshot(owner_sql, b.tenant_id) == before
    member = b.get(f"/api/users/{person.user_id}").json()
    assert (member["role"], member["status"]) == ("admin", "active")
    assert in_b.get("/api/auth/me").status_code == 200
