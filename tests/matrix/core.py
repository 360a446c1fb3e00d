"""The pieces of the cross-tenant matrix: the two tenants (`World`) and how a route is attacked
(`Target`). Each feature area lists its routes in its own module of this package."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, TypeVar

from tests.conftest import Account, Accounts, latest_mail_token, unique

DENIED = frozenset({403, 404})
WRONG_TENANT = frozenset({401, 403})
T = TypeVar("T")


@dataclass
class World:
    """Tenant A (the attacker) and tenant B (the victim), with B's resources made on demand."""

    accounts: Accounts
    a: Account
    b: Account
    # Strings that identify B; none may appear in an answer given to A.
    b_markers: set[str] = field(default_factory=set)

    _made: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.b_markers |= {self.b.tenant_id, self.b.subdomain, self.b.user_id, self.b.email}

    def once(self, key: str, make: Callable[[], T]) -> T:
        """Make a resource the first time an entry asks for it (area modules use this)."""
        if key not in self._made:
            self._made[key] = make()
        made: T = self._made[key]
        return made

    @cached_property
    def a_api_key(self) -> str:
        return create_key(self.a, "admin")["key"]

    @cached_property
    def b_api_key(self) -> dict[str, Any]:
        key = create_key(self.b, "admin")
        self.b_markers |= {key["id"], key["prefix"]}
        return key

    @cached_property
    def b_session_id(self) -> str:
        response = self.b.get("/api/auth/sessions")
        assert response.status_code == 200, response.text
        session_id: str = response.json()[0]["id"]
        self.b_markers.add(session_id)
        return session_id

    @cached_property
    def b_member(self) -> Account:
        member = self.accounts.member(self.b, "editor")
        self.b_markers |= {member.user_id, member.email}
        return member

    @cached_property
    def b_invite(self) -> dict[str, str]:
        invite = invite_someone(self.accounts, self.b)
        self.b_markers |= {invite["id"], invite["email"]}
        return invite

    @cached_property
    def a_invite(self) -> dict[str, str]:
        return invite_someone(self.accounts, self.a)


def create_key(account: Account, scope: str) -> dict[str, Any]:
    response = account.post("/api/api-keys", json={"name": f"matrix {scope}", "scope": scope})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def invite_someone(accounts: Accounts, admin: Account) -> dict[str, str]:
    email = f"{unique('inv')}@example.com"
    response = admin.post("/api/invites", json={"email": email, "role": "viewer"})
    assert response.status_code == 201, response.text
    token = latest_mail_token(accounts.owner_url, email, "invited")
    return {"id": response.json()["id"], "email": email, "token": token}


@dataclass(frozen=True)
class Target:
    """How one route is called in the matrix.

    kind:
      "object"     - bearer auth; `path` names B's resource; A gets `cross` (404/403).
      "collection" - bearer auth; no ids; A gets a 2xx about A only, never B's markers.
      "credential" - no bearer; the body carries a credential (password, refresh token, invite
                     token). `body(world, holder)` builds it for `holder`; B's credential sent to
                     A's workspace gets `cross`, A's sent to B's workspace gets `wrong_tenant`.
    """

    kind: Literal["object", "collection", "credential"]
    path: Callable[[World], str]
    body: Callable[[World, Account], dict[str, Any] | None] = lambda _w, _holder: None
    cross: frozenset[int] = DENIED
    wrong_tenant: frozenset[int] = WRONG_TENANT


def _path(template: str) -> Callable[[World], str]:
    return lambda _world: template
