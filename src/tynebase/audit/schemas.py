from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel


class AuditEntryOut(BaseModel):
    id: UUID
    occurred_at: datetime
    action: str
    outcome: str
    actor_kind: str
    actor_user_id: UUID | None
    actor_label: str | None
    target_type: str | None
    target_id: str | None
    ip: str | None
    request_id: str | None
    details: dict[str, Any]


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None  # pass as `cursor` for the next page; null on the last one
