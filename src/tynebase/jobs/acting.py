"""The person a job acts for: whoever started it, as they are now.

A job that writes in someone's name (an import, a generated draft, a transcript) re-reads that
member when it runs: it never acts with more than the role the request asked with (an API key's
scope may cap it) nor more than the member's current role, and fails for good if they left.
"""

from __future__ import annotations

from tynebase.auth.principal import ROLE_RANK, Principal
from tynebase.jobs.registry import JobContext, JobFailed
from tynebase.users import repo as users_repo


async def access_acting_principal(ctx: JobContext, *, gone_code: str) -> Principal:
    """The job's starter with the lower of the role asked with (payload "role") and their
    current role; JobFailed(`gone_code`) when they are no longer an active member."""
    user_id = ctx.created_by
    member = await users_repo.get_member(ctx.conn, user_id) if user_id else None
    if member is None or member.status != "active":
        raise JobFailed(
            "The person who started this job is no longer an active member", code=gone_code
        )
    role = min(ctx.payload.get("role", "viewer"), member.role, key=ROLE_RANK.__getitem__)
    return Principal(
        user_id=member.user_id,
        email=member.email,
        name=member.name,
        role=role,
        is_superadmin=False,
    )
