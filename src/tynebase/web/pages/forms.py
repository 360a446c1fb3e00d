"""Form helpers: validate with the API's own Pydantic schemas, run a change in a savepoint so a
refused change leaves nothing behind while the page renders the error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.errors import TynebaseError, ValidationFailed

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


async def form_dict(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def parse(model: type[M], data: dict[str, Any]) -> M:
    """The API schema's validation, raised as the API's VALIDATION_ERROR."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(str(e["loc"][-1]) for e in exc.errors() if e.get("loc"))
        raise ValidationFailed(f"Please check: {fields}") from None


async def attempt(
    conn: AsyncConnection, change: Callable[[], Awaitable[T]]
) -> tuple[T | None, TynebaseError | None]:
    """Run `change` in a savepoint; on a refusal roll it back and return the error."""
    savepoint = await conn.begin_nested()
    try:
        result = await change()
    except TynebaseError as exc:
        await savepoint.rollback()
        return None, exc
    await savepoint.commit()
    return result, None


def split_tags(raw: str | None) -> list[str]:
    return [t.strip() for t in (raw or "").split(",") if t.strip()]


def safe_next(next_path: str | None, prefix: str) -> str:
    """Only a path inside this workspace (no open redirect)."""
    if next_path and next_path.startswith(prefix + "/") and "//" not in next_path[1:]:
        return next_path
    return prefix + "/"
