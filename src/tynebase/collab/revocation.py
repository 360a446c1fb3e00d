"""Re-checking live sockets when someone's access changes (COL-5): revoked sessions, suspended
users and workspaces close; a lowered role closes writable sockets, which reconnect read-only."""

from __future__ import annotations

import logging
from typing import Any

from tynebase.collab import tickets
from tynebase.collab.codes import CloseCode, Refused
from tynebase.collab.room import Connection
from tynebase.db.engine import Database

log = logging.getLogger(__name__)


async def recheck_access(db: Database, connections: list[Connection]) -> None:
    """Close sockets whose holder lost access; downgrades close writable sockets (COL-5)."""
    groups: dict[tuple[Any, ...], list[Connection]] = {}
    for connection in connections:
        grant = connection.grant
        key = (
            grant.tenant_id,
            grant.document_id,
            grant.principal.user_id,
            grant.principal.session_id,
            grant.principal.api_key_id,
            grant.writable,
        )
        groups.setdefault(key, []).append(connection)
    for members in groups.values():
        grant = members[0].grant
        try:
            async with db.unit_of_work(grant.tenant_id) as conn:
                current = await tickets.check_access(conn, grant)
        except Refused as refusal:
            for connection in members:
                connection.close(refusal.code, refusal.detail)
            continue
        except Exception:
            log.exception("re-checking collaboration access failed")
            continue
        for connection in members:
            if connection.grant.writable and not current.writable:
                connection.close(CloseCode.ROLE_CHANGED)
            else:
                connection.grant = current
