"""The error tree: every error has a stable UPPER_SNAKE code, an HTTP status and details.

Mapped to the `{"error": {"code", "message", "details"}}` envelope in one place
(`tynebase.api.errors`).
"""

from __future__ import annotations

from typing import Any, ClassVar


class TynebaseError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.details = details or {}
        self.headers = headers or {}


class ValidationFailed(TynebaseError):
    status = 400
    code = "VALIDATION_ERROR"


class Unauthenticated(TynebaseError):
    status = 401
    code = "UNAUTHENTICATED"


class Forbidden(TynebaseError):
    status = 403
    code = "FORBIDDEN"


class NotFound(TynebaseError):
    status = 404
    code = "NOT_FOUND"


class Conflict(TynebaseError):
    status = 409
    code = "CONFLICT"


class Gone(TynebaseError):
    status = 410
    code = "GONE"


class RateLimited(TynebaseError):
    status = 429
    code = "RATE_LIMITED"


class Unavailable(TynebaseError):
    status = 503
    code = "SERVICE_UNAVAILABLE"
