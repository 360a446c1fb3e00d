from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, EmailStr

from tynebase.auth.schemas import Name, Password, Token

Role = Literal["admin", "editor", "contributor", "viewer"]


class MemberOut(BaseModel):
    user_id: UUID
    email: str
    name: str
    role: str
    status: str
    joined_at: datetime


class MemberUpdateIn(BaseModel):
    role: Role | None = None
    status: Literal["active", "suspended"] | None = None


class InviteIn(BaseModel):
    email: EmailStr
    role: Role = "viewer"


class InviteOut(BaseModel):
    id: UUID
    email: str
    role: str
    expires_at: datetime
    created_at: datetime


class InviteAcceptIn(BaseModel):
    token: Token
    name: Name | None = None
    password: Password | None = None


class InviteAcceptedOut(BaseModel):
    user_id: UUID
    email: str
    role: str
