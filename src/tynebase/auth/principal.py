"""Who is calling: the authenticated user in the request's tenant, with an effective role."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from tynebase.errors import Forbidden

ROLE_RANK = {"viewer": 0, "contributor": 1, "editor": 2, "admin": 3}
# The highest role an API key of each scope can act with, whatever its owner's role.
SCOPE_CEILING = {"read": "viewer", "write": "editor", "admin": "admin"}


def capped_role(role: str, scope: str) -> str:
    ceiling = SCOPE_CEILING[scope]
    return role if ROLE_RANK[role] <= ROLE_RANK[ceiling] else ceiling


@dataclass(frozen=True)
class Principal:
    user_id: UUID
    email: str
    name: str
    role: str  # effective: the membership role, capped by the API key's scope
    is_superadmin: bool
    session_id: UUID | None = None
    api_key_id: UUID | None = None

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[minimum]

    def check_role(self, minimum: str) -> None:
        if not self.has_role(minimum):
            raise Forbidden(
                f"This needs the {minimum} role or higher",
                code="INSUFFICIENT_ROLE",
                details={"required": minimum, "role": self.role},
            )
