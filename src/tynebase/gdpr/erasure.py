"""Account erasure (GDPR-3); see the package docstring for what it reaches and why.

`do_erase` changes the database in the caller's transaction and returns the blob keys to remove
once it has committed (`remove_blobs`): a rolled-back erasure must not lose files. Example::

    async with db.unit_of_work() as conn:
        result = await erasure.do_erase(conn, user_id=user.id, actor=Actor.operator())
    await erasure.remove_blobs(open_blob_store(settings), result.blob_keys)
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.audit import repo as audit_repo
from tynebase.audit import service as audit_service
from tynebase.audit.service import Actor
from tynebase.auth.models import api_keys
from tynebase.auth.revocation import announce_access_change
from tynebase.db.engine import set_tenant
from tynebase.db.rls import TENANT_SETTING
from tynebase.documents import lineage
from tynebase.documents.models import documents
from tynebase.errors import Conflict, NotFound
from tynebase.files.models import files
from tynebase.files.storage import BlobStore
from tynebase.jobs.models import jobs
from tynebase.mail.models import outbox
from tynebase.rag.models import chat_sessions
from tynebase.taxonomy.models import collections, document_tags, tags
from tynebase.tenants.models import tenants
from tynebase.users import repo as users_repo
from tynebase.users.models import invites, memberships, users
from tynebase.users.repo import User

log = logging.getLogger(__name__)

USER_ERASED = "user.erased"
FINISHED_JOBS = ("succeeded", "failed", "cancelled")


def pseudonym_of(user_id: UUID) -> str:
    """The stable stand-in for an erased person (the same one `gdpr_scrub_audit` writes)."""
    return "erased:" + hashlib.md5(str(user_id).encode(), usedforsecurity=False).hexdigest()[:12]


@dataclass
class ErasureResult:
    user_id: UUID
    pseudonym: str
    workspaces: int = 0
    documents: int = 0
    files: int = 0
    chats: int = 0
    audit_entries: int = 0
    blob_keys: list[str] = field(default_factory=list)


async def access_user(conn: AsyncConnection, *, user_id: UUID) -> User:
    user = await users_repo.get_user(conn, user_id)
    if user is None:
        raise NotFound("User not found", code="USER_NOT_FOUND")
    return user


async def user_tenant_ids(conn: AsyncConnection, user: User) -> list[UUID]:
    """Every workspace holding anything of the person (not only their memberships)."""
    rows = await conn.execute(
        sa.select(sa.func.gdpr_user_tenants(user.id, user.email).label("tenant_id"))
    )
    return [row.tenant_id for row in rows]


async def check_erasable(conn: AsyncConnection, *, user: User, tenant_ids: list[UUID]) -> None:
    """409 LAST_ADMIN if the person is the last active admin of a workspace."""
    for tenant_id in tenant_ids:
        await set_tenant(conn, tenant_id)
        member = await users_repo.get_member(conn, user.id)
        if member is None or member.role != "admin" or member.status != "active":
            continue
        if await users_repo.count_active_admins(conn) <= 1:
            subdomain = (
                await conn.execute(sa.select(tenants.c.subdomain).where(tenants.c.id == tenant_id))
            ).scalar_one()
            raise Conflict(
                f"This account is the last active admin of workspace {subdomain}; make someone "
                "else admin there first",
                code="LAST_ADMIN",
                details={"workspace": subdomain},
            )


async def _erase_in_tenant(
    conn: AsyncConnection, *, user: User, tenant_id: UUID, actor: Actor, result: ErasureResult
) -> None:
    await set_tenant(conn, tenant_id)
    authored = (
        await conn.execute(
            sa.select(documents.c.id, documents.c.current_version).where(
                documents.c.author_id == user.id
            )
        )
    ).all()
    doc_ids = [row.id for row in authored]
    owned_files = (
        await conn.execute(
            sa.select(files.c.id, files.c.storage_key).where(
                sa.or_(files.c.created_by == user.id, files.c.document_id.in_(doc_ids))
            )
        )
    ).all()
    tag_ids = list(
        (
            await conn.execute(
                sa.select(document_tags.c.tag_id)
                .where(document_tags.c.document_id.in_(doc_ids))
                .distinct()
            )
        ).scalars()
    )
    for row in authored:
        # The lineage keeps that the document existed and went (DOC-7), without its content.
        await lineage.record(
            conn,
            tenant_id=tenant_id,
            document_id=row.id,
            event="deleted",
            actor_id=actor.user_id,
            version=row.current_version,
            details={"reason": "erasure"},
        )
    await conn.execute(files.delete().where(files.c.id.in_([f.id for f in owned_files])))
    # Versions, Yjs state, chunks, index state, shares and links cascade from the documents.
    await conn.execute(documents.delete().where(documents.c.id.in_(doc_ids)))
    if tag_ids:
        still_used = sa.select(document_tags.c.tag_id).where(document_tags.c.tag_id == tags.c.id)
        await conn.execute(tags.delete().where(tags.c.id.in_(tag_ids), ~still_used.exists()))
    chats = await conn.execute(chat_sessions.delete().where(chat_sessions.c.user_id == user.id))
    await conn.execute(
        collections.delete().where(
            collections.c.created_by == user.id, collections.c.visibility == "private"
        )
    )
    await conn.execute(invites.delete().where(sa.func.lower(invites.c.email) == user.email.lower()))
    # Jobs still queued or running finish on their own (their documents are gone by then).
    await conn.execute(
        jobs.delete().where(jobs.c.created_by == user.id, jobs.c.status.in_(FINISHED_JOBS))
    )
    await conn.execute(memberships.delete().where(memberships.c.user_id == user.id))
    await audit_service.record(
        conn,
        action=USER_ERASED,
        actor=actor,
        target_type="user",
        target_id=user.id,
        details={"documents": len(doc_ids), "files": len(owned_files)},
    )
    await announce_access_change(conn, reason="user_erased", tenant_id=tenant_id, user_id=user.id)
    result.documents += len(doc_ids)
    result.files += len(owned_files)
    result.chats += chats.rowcount or 0
    result.blob_keys += [f.storage_key for f in owned_files]


async def do_erase(conn: AsyncConnection, *, user_id: UUID, actor: Actor) -> ErasureResult:
    """Erase the account everywhere; returns the blob keys to remove after commit."""
    user = await access_user(conn, user_id=user_id)
    tenant_ids = await user_tenant_ids(conn, user)
    await check_erasable(conn, user=user, tenant_ids=tenant_ids)
    result = ErasureResult(user_id=user.id, pseudonym=pseudonym_of(user.id))
    key_names = list(
        (
            await conn.execute(
                sa.select(api_keys.c.name).where(api_keys.c.user_id == user.id).distinct()
            )
        ).scalars()
    )
    for tenant_id in tenant_ids:
        await _erase_in_tenant(conn, user=user, tenant_id=tenant_id, actor=actor, result=result)
    await conn.execute(outbox.delete().where(outbox.c.to_address == user.email.lower()))
    # Sessions, refresh tokens, API keys, tickets, consents and what is left of memberships
    # and chats cascade from the user row (foreign keys are checked without RLS).
    await conn.execute(users.delete().where(users.c.id == user.id))
    terms = [user.email, user.name, *key_names]
    for tenant_id in tenant_ids:
        await set_tenant(conn, tenant_id)
        result.audit_entries += await _scrub(conn, user_id=user.id, terms=terms)
    await conn.execute(sa.select(sa.func.set_config(TENANT_SETTING, "", True)))
    await audit_repo.enter_platform(conn)
    result.audit_entries += await _scrub(conn, user_id=user.id, terms=terms)
    result.workspaces = len(tenant_ids)
    return result


async def _scrub(conn: AsyncConnection, *, user_id: UUID, terms: list[str]) -> int:
    query = sa.select(
        sa.func.gdpr_scrub_audit(user_id, sa.cast(sa.literal(terms), sa.ARRAY(sa.Text)))
    )
    return int((await conn.execute(query)).scalar_one())


async def remove_blobs(store: BlobStore, keys: list[str]) -> int:
    """Delete the blobs of an erasure that has committed; returns how many went. One that fails
    is logged and left as an orphan (no row points to it; `tynebase files check` reports it)."""
    removed = 0
    for key in keys:
        try:
            await store.delete(key)
            removed += 1
        except Exception:
            log.exception("could not remove blob %s of an erased account", key)
    return removed
