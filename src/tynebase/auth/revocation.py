"""Access-change announcements: how live connections learn that a user lost access (COL-5, OPS-9).

Revoking sessions, suspending or removing a member, lowering a role and suspending a tenant all
announce on one Postgres channel with `pg_notify`. NOTIFY is delivered on commit, so a listener
(the collaboration server) never acts on a change that was rolled back, and every process sharing
the database hears it without Redis.

Payload (JSON): {"tenant_id": str|null, "user_id": str|null, "session_id": str|null,
"reason": str}. Null fields widen the scope: no user_id means every user of the tenant, and no
tenant_id means everyone (`tynebase sessions revoke --all`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

CHANNEL = "tynebase_access_changed"

# The tenant defaults to the transaction's own (`app.tenant_id`), so callers inside a tenant
# unit of work need not pass it; outside one (CLI `--all`) it is null.
_ANNOUNCE = sa.text(
    "SELECT pg_notify(:channel, json_build_object("
    "'tenant_id', coalesce(CAST(:tenant_id AS text), "
    "nullif(current_setting('app.tenant_id', true), '')),"
    "'user_id', CAST(:user_id AS text), 'session_id', CAST(:session_id AS text), "
    "'reason', CAST(:reason AS text))::text)"
)


@dataclass(frozen=True, slots=True)
class AccessChange:
    tenant_id: UUID | None
    user_id: UUID | None
    session_id: UUID | None
    reason: str

    def affects(self, *, tenant_id: UUID, user_id: UUID | None, session_id: UUID | None) -> bool:
        """Whether a connection held by this tenant/user/session must be re-checked or closed."""
        if self.tenant_id is not None and self.tenant_id != tenant_id:
            return False
        if self.user_id is not None and self.user_id != user_id:
            return False
        return self.session_id is None or self.session_id == session_id

    @classmethod
    def parse(cls, payload: str) -> AccessChange:
        data = json.loads(payload)

        def uuid_or_none(key: str) -> UUID | None:
            value = data.get(key)
            return UUID(value) if value else None

        return cls(
            tenant_id=uuid_or_none("tenant_id"),
            user_id=uuid_or_none("user_id"),
            session_id=uuid_or_none("session_id"),
            reason=str(data.get("reason") or ""),
        )


async def announce_access_change(
    conn: AsyncConnection,
    *,
    reason: str,
    tenant_id: UUID | None = None,
    user_id: UUID | None = None,
    session_id: UUID | None = None,
) -> None:
    """Tell every listening process, once this transaction commits, that access changed."""
    await conn.execute(
        _ANNOUNCE,
        {
            "channel": CHANNEL,
            "tenant_id": str(tenant_id) if tenant_id else None,
            "user_id": str(user_id) if user_id else None,
            "session_id": str(session_id) if session_id else None,
            "reason": reason,
        },
    )
