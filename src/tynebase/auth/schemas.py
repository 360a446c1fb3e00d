from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from tynebase.tenants.service import SUBDOMAIN_PATTERN

Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
# PostgreSQL text cannot hold NUL: refuse it here (400) rather than fail the INSERT (500).
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00]*$"),
]
Token = Annotated[str, StringConstraints(min_length=1, max_length=512)]


class SignupIn(BaseModel):
    email: EmailStr
    password: Password
    name: Name
    tenant_name: Name
    subdomain: Annotated[
        str, StringConstraints(min_length=3, max_length=63, pattern=SUBDOMAIN_PATTERN)
    ]


class LoginIn(BaseModel):
    email: EmailStr
    password: Password


class RefreshIn(BaseModel):
    refresh_token: Token


class TokenIn(BaseModel):
    token: Token


class EmailIn(BaseModel):
    email: EmailStr


class ResetIn(BaseModel):
    token: Token
    password: Password


class UserOut(BaseModel):
    id: UUID
    email: str
    name: str
    is_superadmin: bool = False


class TenantOut(BaseModel):
    id: UUID
    subdomain: str
    name: str
    tier: str
    status: str


class SignupOut(BaseModel):
    user: UserOut
    tenant: TenantOut
    email_confirmation_required: bool


class TokensOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int
    refresh_token: str
    session_id: UUID


class MeOut(BaseModel):
    user: UserOut
    tenant: TenantOut
    role: str
    auth: Literal["session", "api_key"]


class StatusOut(BaseModel):
    status: str


class SessionOut(BaseModel):
    id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool


class ApiKeyIn(BaseModel):
    name: Name
    scope: Literal["read", "write", "admin"] = "read"
    expires_in_days: int | None = Field(default=90, ge=1, le=3650)


class ApiKeyRotateIn(BaseModel):
    overlap_hours: int = Field(default=24, ge=0, le=24 * 30)


class ApiKeyOut(BaseModel):
    id: UUID
    user_id: UUID
    name: str
    prefix: str
    scope: str
    expires_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="The full key; shown only now")
