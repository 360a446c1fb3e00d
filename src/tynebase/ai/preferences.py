"""A tenant's AI provider preference per task (ADM "AI provider preference", AI-1): table,
queries and the check/change services behind GET/PUT /api/tenant/ai-preferences.

Callers that make AI calls load the preference once per request or job and pass it on:

    prefs = await load_preferences(ctx.conn, tenant_id=ctx.tenant.id)
    await complete_chat(settings, tenant_preference=prefs, messages=...)

A preference names a configured provider (and optionally one of its allowed models); it moves
that provider to the front of the task's fallback chain. A preference whose provider was later
removed from the configuration is ignored by the router (the defaults apply) and shown as
`stale` by the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.ai.providers.base import AIPreferences, ProviderChoice
from tynebase.ai.providers.config import AITask
from tynebase.ai.providers.router import AIRouter
from tynebase.auth.principal import Principal
from tynebase.db.metadata import metadata, one_of, tenant_fk
from tynebase.errors import ValidationFailed

ai_preferences = sa.Table(
    "ai_preferences",
    metadata,
    tenant_fk(),
    sa.Column("task", sa.Text, nullable=False),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("model", sa.Text),  # NULL: the provider's default model for the task
    sa.Column("updated_by", PG_UUID(as_uuid=True), sa.ForeignKey("users.id", ondelete="SET NULL")),
    sa.Column(
        "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.PrimaryKeyConstraint("tenant_id", "task"),
    one_of("task", tuple(AITask)),
    sa.CheckConstraint("char_length(provider) BETWEEN 1 AND 40", name="provider_length"),
    sa.CheckConstraint("char_length(model) BETWEEN 1 AND 200", name="model_length"),
)


@dataclass(frozen=True)
class ProviderOption:
    """A provider a tenant may pick for a task, with the models it may pick."""

    provider: str
    kind: str
    models: tuple[str, ...]


# --- queries ------------------------------------------------------------------------------------


async def load_preferences(conn: AsyncConnection, *, tenant_id: UUID) -> AIPreferences:
    """The tenant's stored picks (empty when it never chose)."""
    query = sa.select(
        ai_preferences.c.task, ai_preferences.c.provider, ai_preferences.c.model
    ).where(ai_preferences.c.tenant_id == tenant_id)
    rows = (await conn.execute(query)).all()
    return AIPreferences(
        choices={AITask(row.task): ProviderChoice(row.provider, row.model) for row in rows}
    )


async def last_change(conn: AsyncConnection, *, tenant_id: UUID) -> datetime | None:
    query = sa.select(sa.func.max(ai_preferences.c.updated_at)).where(
        ai_preferences.c.tenant_id == tenant_id
    )
    value: datetime | None = (await conn.execute(query)).scalar()
    return value


# --- services -----------------------------------------------------------------------------------


def options(router: AIRouter) -> dict[AITask, list[ProviderOption]]:
    """Per task, the providers configured to serve it and their selectable models."""
    result: dict[AITask, list[ProviderOption]] = {}
    for task in AITask:
        entries = []
        for name, provider in router.providers.items():
            default = provider.model_for(task)
            if default is None:
                continue
            models = router.allowed_models.get(name, {}).get(task, [default])
            entries.append(ProviderOption(name, provider.kind, tuple(models)))
        result[task] = entries
    return result


def is_stale(router: AIRouter, task: AITask, choice: ProviderChoice) -> bool:
    """Does a stored pick no longer match the configuration (provider or model gone)?"""
    for option in options(router)[task]:
        if option.provider == choice.provider:
            return choice.model is not None and choice.model not in option.models
    return True


def check_choices(
    router: AIRouter, choices: Mapping[AITask, ProviderChoice | None]
) -> dict[AITask, ProviderChoice]:
    """Validate picks against the configured providers; unset (None) tasks use the defaults."""
    available = options(router)
    problems: list[dict[str, str]] = []
    valid: dict[AITask, ProviderChoice] = {}
    for task, choice in choices.items():
        if choice is None:
            continue
        option = next((o for o in available[task] if o.provider == choice.provider), None)
        if option is None:
            names = ", ".join(o.provider for o in available[task]) or "none"
            problems.append(
                {
                    "task": str(task),
                    "msg": f"provider {choice.provider!r} is not configured for {task} "
                    f"(available: {names})",
                }
            )
            continue
        if choice.model is not None and choice.model not in option.models:
            problems.append(
                {
                    "task": str(task),
                    "msg": f"model {choice.model!r} is not offered by {choice.provider} for "
                    f"{task} (available: {', '.join(option.models)})",
                }
            )
            continue
        valid[task] = choice
    if problems:
        raise ValidationFailed(
            "These AI preferences do not match the configured providers",
            details={"problems": problems},
        )
    return valid


async def do_replace_preferences(
    conn: AsyncConnection,
    *,
    principal: Principal,
    tenant_id: UUID,
    router: AIRouter,
    choices: Mapping[AITask, ProviderChoice | None],
) -> AIPreferences:
    """Replace the tenant's picks (admins only); tasks not given go back to the defaults."""
    principal.check_role("admin")
    valid = check_choices(router, choices)
    await conn.execute(sa.delete(ai_preferences).where(ai_preferences.c.tenant_id == tenant_id))
    if valid:
        rows = [
            {
                "tenant_id": tenant_id,
                "task": str(task),
                "provider": choice.provider,
                "model": choice.model,
                "updated_by": principal.user_id,
            }
            for task, choice in valid.items()
        ]
        await conn.execute(pg_insert(ai_preferences).values(rows))
    return AIPreferences(choices=valid)
