"""GET/PUT /api/tenant/ai-preferences: the workspace's AI provider per task (admins only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from tynebase.ai import preferences
from tynebase.ai.providers.base import AIPreferences, ProviderChoice
from tynebase.ai.providers.config import AITask
from tynebase.ai.providers.registry import get_router
from tynebase.ai.providers.router import AIRouter
from tynebase.api.deps import AuthCtx
from tynebase.api.schemas import COMMON_ERRORS

router = APIRouter(prefix="/api/tenant/ai-preferences", tags=["ai"], responses=COMMON_ERRORS)


class ChoiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(min_length=1, max_length=40)
    model: str | None = Field(default=None, min_length=1, max_length=200)


class PreferencesIn(BaseModel):
    """The whole set: a task left out or null uses the configured default chain."""

    model_config = ConfigDict(extra="forbid")

    chat: ChoiceIn | None = None
    generate: ChoiceIn | None = None
    embed: ChoiceIn | None = None
    rerank: ChoiceIn | None = None
    transcribe: ChoiceIn | None = None


class ChoiceOut(BaseModel):
    provider: str
    model: str | None
    stale: bool = False  # the configuration no longer offers it; the defaults apply


class OptionOut(BaseModel):
    provider: str
    kind: str
    models: list[str]


class EffectiveOut(BaseModel):
    """What a call for the task would use now: the chain of (provider, model) in order."""

    chain: list[ChoiceOut]
    llm: bool  # False: only the offline extractive provider answers


class PreferencesOut(BaseModel):
    preferences: dict[AITask, ChoiceOut | None]
    available: dict[AITask, list[OptionOut]]
    effective: dict[AITask, EffectiveOut]
    updated_at: datetime | None


def _out(router: AIRouter, prefs: AIPreferences, updated_at: datetime | None) -> PreferencesOut:
    chosen: dict[AITask, ChoiceOut | None] = {}
    effective: dict[AITask, EffectiveOut] = {}
    for task in AITask:
        choice = prefs.for_task(task)
        chosen[task] = (
            ChoiceOut(
                provider=choice.provider,
                model=choice.model,
                stale=preferences.is_stale(router, task, choice),
            )
            if choice
            else None
        )
        chain = router.chain(task, prefs)
        effective[task] = EffectiveOut(
            chain=[ChoiceOut(provider=name, model=model) for name, model in chain],
            llm=router.llm_configured(task, prefs),
        )
    return PreferencesOut(
        preferences=chosen,
        available={
            task: [OptionOut(provider=o.provider, kind=o.kind, models=list(o.models)) for o in opts]
            for task, opts in preferences.options(router).items()
        },
        effective=effective,
        updated_at=updated_at,
    )


@router.get("")
async def get_preferences(ctx: AuthCtx) -> PreferencesOut:
    """The workspace's picks, what it may pick, and the chain each task uses now."""
    ctx.principal.check_role("admin")
    ai = get_router(ctx.state.settings)
    prefs = await preferences.load_preferences(ctx.conn, tenant_id=ctx.tenant.id)
    return _out(ai, prefs, await preferences.last_change(ctx.conn, tenant_id=ctx.tenant.id))


@router.put("")
async def put_preferences(body: PreferencesIn, ctx: AuthCtx) -> PreferencesOut:
    """Replace the workspace's picks; each must be a configured provider (and allowed model)."""
    ai = get_router(ctx.state.settings)
    choices: dict[AITask, ProviderChoice | None] = {}
    for task in AITask:
        choice: ChoiceIn | None = getattr(body, str(task))
        choices[task] = ProviderChoice(choice.provider, choice.model) if choice else None
    prefs = await preferences.do_replace_preferences(
        ctx.conn,
        principal=ctx.principal,
        tenant_id=ctx.tenant.id,
        router=ai,
        choices=choices,
    )
    return _out(ai, prefs, await preferences.last_change(ctx.conn, tenant_id=ctx.tenant.id))
