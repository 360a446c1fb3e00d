"""The one place errors become HTTP responses: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from tynebase.errors import TynebaseError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
}
UNIQUE_VIOLATION = "23505"


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
    )


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    # Never echo the input back: it may be a password.
    fields = [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    return {"fields": fields}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TynebaseError)
    async def _tynebase(_: Request, exc: TynebaseError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        return error_response(
            400, "VALIDATION_ERROR", "The request is not valid", _validation_details(exc)
        )

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        return error_response(
            exc.status_code,
            code,
            str(exc.detail),
            headers=dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> Response:
        if getattr(exc.orig, "sqlstate", None) == UNIQUE_VIOLATION:
            # Two requests raced past the same uniqueness check; the loser gets a clean 409.
            return error_response(409, "CONFLICT", "This already exists")
        log.exception("integrity error")
        return error_response(500, "INTERNAL_ERROR", "Internal error")

    @app.exception_handler(PoolTimeout)
    @app.exception_handler(OperationalError)
    @app.exception_handler(psycopg.OperationalError)  # hot queries run on the driver directly
    async def _database_down(_: Request, exc: Exception) -> Response:
        detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        log.error("database unavailable: %s: %s", type(exc).__name__, detail)
        return error_response(
            503,
            "DATABASE_UNAVAILABLE",
            "The database is not reachable; retry soon",
            headers={"Retry-After": "5"},
        )
