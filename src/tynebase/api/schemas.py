"""Shared response shapes: the error envelope, documented on every router."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorOut(BaseModel):
    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorOut, "description": "Error"} for status in statuses}


# Every /api route may answer these (validation, auth, tenant, rate limit, database outage).
COMMON_ERRORS = error_responses(400, 401, 403, 404, 409, 410, 429, 503)
