"""Entry-point helpers shared by the API and the CLI: checks, and erasure run to the end
(database in one transaction, then the blobs)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit.service import Actor
from tynebase.auth.passwords import verify_password
from tynebase.db.engine import Database, set_user
from tynebase.errors import Conflict, Forbidden, NotFound
from tynebase.files.storage import BlobStore
from tynebase.gdpr import erasure
from tynebase.gdpr.erasure import ErasureResult, access_user
from tynebase.users import repo as users_repo
from tynebase.users.models import memberships

USER_EXPORTED = "user.exported"


@dataclass(frozen=True)
class Erased:
    result: ErasureResult
    blobs_removed: int


async def check_password(conn: AsyncConnection, *, user_id: UUID, password: str) -> None:
    """403 PASSWORD_MISMATCH unless `password` is the account's (re-confirmation)."""
    user = await access_user(conn, user_id=user_id)
    if not await verify_password(user.password_hash, password):
        raise Forbidden("The password is not this account's", code="PASSWORD_MISMATCH")


async def check_admin_may_erase(conn: AsyncConnection, *, user_id: UUID) -> None:
    """A workspace admin may erase only an account that lives in their workspace alone: the
    account is global, and other workspaces (or the platform) are not theirs to decide for."""
    user = await access_user(conn, user_id=user_id)
    await set_user(conn, user_id)  # own-rows policy: the account's memberships everywhere
    count = (
        await conn.execute(sa.select(sa.func.count()).where(memberships.c.user_id == user_id))
    ).scalar_one()
    if user.is_superadmin or count > 1:
        raise Conflict(
            "This account is also used outside this workspace; an operator must erase it "
            "(tynebase user erase)",
            code="ACCOUNT_SHARED",
            details={"workspaces": int(count), "superadmin": user.is_superadmin},
        )


async def access_member_id(conn: AsyncConnection, *, user_id: UUID) -> UUID:
    member = await users_repo.get_member(conn, user_id)
    if member is None:
        raise NotFound("Member not found", code="MEMBER_NOT_FOUND")
    return member.user_id


async def run_erasure(
    db: Database, store: BlobStore, *, user_id: UUID, actor: Actor | None = None
) -> Erased:
    """Erase in one transaction, then remove the blobs (only once the erasure committed).
    `actor` None: the person themselves (recorded under their pseudonym)."""
    who = actor or Actor(kind="user", user_id=user_id, label=erasure.pseudonym_of(user_id))
    async with db.unit_of_work() as conn:
        result = await erasure.do_erase(conn, user_id=user_id, actor=who)
    removed = await erasure.remove_blobs(store, result.blob_keys)
    return Erased(result=result, blobs_removed=removed)
