"""Member and invite routes: /api/users and /api/invites."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Response

from tynebase.api.deps import AuthCtx, AuthRateLimit, TenantCtx
from tynebase.api.schemas import COMMON_ERRORS
from tynebase.auth.api import deliver_mail
from tynebase.users import repo, service
from tynebase.users.repo import Member
from tynebase.users.schemas import (
    InviteAcceptedOut,
    InviteAcceptIn,
    InviteIn,
    InviteOut,
    MemberOut,
    MemberUpdateIn,
)

members_router = APIRouter(prefix="/api/users", tags=["members"], responses=COMMON_ERRORS)
invites_router = APIRouter(prefix="/api/invites", tags=["invites"], responses=COMMON_ERRORS)


def _member_out(member: Member) -> MemberOut:
    return MemberOut(
        user_id=member.user_id,
        email=member.email,
        name=member.name,
        role=member.role,
        status=member.status,
        joined_at=member.joined_at,
    )


@members_router.get("")
async def list_members(ctx: AuthCtx) -> list[MemberOut]:
    return [_member_out(m) for m in await repo.list_members(ctx.conn)]


@members_router.get("/{user_id}")
async def get_member(user_id: UUID, ctx: AuthCtx) -> MemberOut:
    return _member_out(await service.access_member(ctx.conn, user_id=user_id))


@members_router.patch("/{user_id}")
async def update_member(user_id: UUID, body: MemberUpdateIn, ctx: AuthCtx) -> MemberOut:
    member = await service.do_update_member(
        ctx.conn, principal=ctx.principal, user_id=user_id, role=body.role, status=body.status
    )
    return _member_out(member)


@members_router.delete("/{user_id}", status_code=204, response_class=Response)
async def remove_member(user_id: UUID, ctx: AuthCtx) -> None:
    await service.do_remove_member(ctx.conn, principal=ctx.principal, user_id=user_id)


@invites_router.get("")
async def list_invites(ctx: AuthCtx) -> list[InviteOut]:
    rows = await service.list_invites(ctx.conn, principal=ctx.principal)
    return [InviteOut.model_validate(row, from_attributes=True) for row in rows]


@invites_router.post("", status_code=201)
async def create_invite(body: InviteIn, ctx: AuthCtx, background: BackgroundTasks) -> InviteOut:
    row = await service.do_invite(
        ctx.conn,
        settings=ctx.state.settings,
        principal=ctx.principal,
        tenant=ctx.tenant,
        email=body.email,
        role=body.role,
    )
    background.add_task(deliver_mail, ctx.state)
    return InviteOut.model_validate(row, from_attributes=True)


@invites_router.delete("/{invite_id}", status_code=204, response_class=Response)
async def revoke_invite(invite_id: UUID, ctx: AuthCtx) -> None:
    await service.do_revoke_invite(ctx.conn, principal=ctx.principal, invite_id=invite_id)


@invites_router.post("/accept", status_code=201, dependencies=[AuthRateLimit])
async def accept_invite(body: InviteAcceptIn, ctx: TenantCtx) -> InviteAcceptedOut:
    user, role = await service.do_accept_invite(
        ctx.conn, tenant=ctx.tenant, token=body.token, name=body.name, password=body.password
    )
    return InviteAcceptedOut(user_id=user.id, email=user.email, role=role)
