from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, EmailStr, Field


class TenantUsageOut(BaseModel):
    id: UUID
    subdomain: str
    name: str
    tier: str
    status: str
    created_at: datetime
    members: int
    documents: int
    storage_bytes: int
    credits_used: float = Field(description="AI credits charged this month")
    credits_allowance: float | None = Field(
        description="This month's allowance; null until the workspace first uses AI this month"
    )


class TenantPageOut(BaseModel):
    items: list[TenantUsageOut]
    next_cursor: str | None


class TenantCreateIn(BaseModel):
    subdomain: str = Field(min_length=3, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    tier: Literal["free", "base", "pro", "enterprise"] = "free"
    admin_email: EmailStr | None = None


class TenantUpdateIn(BaseModel):
    tier: Literal["free", "base", "pro", "enterprise"] | None = None
    status: Literal["active", "suspended"] | None = None
    reason: str = Field(default="", max_length=500)


class AdminUserOut(BaseModel):
    id: UUID
    email: str
    name: str
    status: str
    is_superadmin: bool
    email_confirmed_at: datetime | None
    locked_until: datetime | None
    created_at: datetime


class UserPageOut(BaseModel):
    items: list[AdminUserOut]
    next_cursor: str | None
