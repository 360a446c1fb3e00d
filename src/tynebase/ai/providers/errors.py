"""Classified provider failures (AI-2): one error class per cause, each a TynebaseError with a
stable code, an HTTP status for our own clients and the provider that failed.

| code | our status | when |
|---|---|---|
| AI_INVALID_CREDENTIALS | 502 | upstream 401/403, or Gemini's 400 API_KEY_INVALID |
| AI_QUOTA_EXCEEDED | 503 (+Retry-After) | upstream 429 (rate limit or exhausted quota) |
| AI_MODEL_UNAVAILABLE | 503 | unknown model (404), upstream 5xx, unreachable, circuit open |
| AI_TIMEOUT | 504 | no answer (or no next stream chunk) within the timeout |
| AI_BAD_RESPONSE | 502 | malformed JSON, truncated body or stream, unexpected shape |
| AI_REQUEST_REJECTED | 502 | upstream 400/413/422 for our request (e.g. prompt too long) |
| AI_NOT_CONFIGURED | 503 | no provider is configured for the task |

Our statuses are gateway statuses on purpose: an upstream 401 must not make a browser think its
own session ended.
"""

from __future__ import annotations

import logging
import math
from typing import Any, ClassVar

from tynebase.errors import TynebaseError

_log = logging.getLogger("tynebase.ai")


class AIError(TynebaseError):
    """A provider call failed; `provider` (and `model` when known) say where."""

    status = 502
    code = "AI_ERROR"
    # Does this failure say something about the provider's health (circuit breaker)?
    counts_against_provider: ClassVar[bool] = True
    outcome: ClassVar[str] = "error"  # metrics label

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str | None = None,
        upstream_status: int | None = None,
        retry_after: float | None = None,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        info: dict[str, Any] = {"provider": provider}
        if model is not None:
            info["model"] = model
        if upstream_status is not None:
            info["upstream_status"] = upstream_status
        if reason is not None:
            info["reason"] = reason
        headers = {}
        if retry_after is not None:
            info["retry_after"] = retry_after
            headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        info.update(details or {})
        super().__init__(message, details=info, headers=headers)
        self.provider = provider
        self.model = model
        self.upstream_status = upstream_status
        self.retry_after = retry_after
        self.reason = reason
        # The provider's own words, for logs only (may quote the request).
        self.upstream_message = ""

    @property
    def retryable(self) -> bool:
        """Worth another try against the same provider (after backoff)?"""
        return False


class AIInvalidCredentials(AIError):
    code = "AI_INVALID_CREDENTIALS"
    outcome = "invalid_credentials"


class AIQuotaExceeded(AIError):
    status = 503
    code = "AI_QUOTA_EXCEEDED"
    outcome = "quota_exceeded"

    @property
    def retryable(self) -> bool:
        # A billing quota ("insufficient_quota") does not come back in seconds.
        return self.reason != "insufficient_quota"


class AIModelUnavailable(AIError):
    status = 503
    code = "AI_MODEL_UNAVAILABLE"
    outcome = "model_unavailable"

    @property
    def retryable(self) -> bool:
        # An unknown model stays unknown; an overloaded or unreachable server may recover.
        return self.reason in {"upstream_error", "unreachable"}


class AITimeout(AIError):
    status = 504
    code = "AI_TIMEOUT"
    outcome = "timeout"

    @property
    def retryable(self) -> bool:
        # A connection that never opened is cheap to try again; a model that did not answer in
        # the whole read timeout would only double the wait.
        return self.reason == "connect"


class AIBadResponse(AIError):
    code = "AI_BAD_RESPONSE"
    outcome = "bad_response"


class AIRequestRejected(AIError):
    code = "AI_REQUEST_REJECTED"
    outcome = "request_rejected"
    counts_against_provider = False  # our request was wrong; the provider is fine


class AINotConfigured(AIError):
    status = 503
    code = "AI_NOT_CONFIGURED"
    outcome = "not_configured"
    counts_against_provider = False


AI_ERROR_CODES = tuple(
    cls.code
    for cls in (
        AIInvalidCredentials,
        AIQuotaExceeded,
        AIModelUnavailable,
        AITimeout,
        AIBadResponse,
        AIRequestRejected,
        AINotConfigured,
    )
)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds; HTTP dates are rare from AI APIs and
    are treated as absent)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 and math.isfinite(seconds) else None


def classify_status(
    status: int,
    *,
    provider: str,
    model: str | None,
    retry_after: float | None = None,
    error_type: str = "",
    message: str = "",
) -> AIError:
    """The error for an upstream HTTP status; `error_type` is the provider's own error name
    (OpenAI `code`/`type`, Anthropic `error.type`, Google `status`/`reason`) when it tells more."""
    kind = error_type.lower()
    where = f"{provider}" + (f" ({model})" if model else "")
    common: dict[str, Any] = {"provider": provider, "model": model, "upstream_status": status}
    if status in (401, 403) or "api_key_invalid" in kind or kind == "authentication_error":
        return AIInvalidCredentials(
            f"The AI provider {where} refused the credentials; check its API key", **common
        )
    if status == 429 or kind in {"rate_limit_error", "resource_exhausted", "insufficient_quota"}:
        reason = "insufficient_quota" if "insufficient_quota" in kind else "rate_limited"
        return AIQuotaExceeded(
            f"The AI provider {where} is over its rate limit or quota",
            retry_after=retry_after,
            reason=reason,
            **common,
        )
    if status == 404 or kind in {"model_not_found", "not_found_error", "not_found"}:
        return AIModelUnavailable(
            f"The AI provider {where} does not know this model", reason="unknown_model", **common
        )
    if status >= 500 or kind == "overloaded_error":
        return AIModelUnavailable(
            f"The AI provider {where} failed (HTTP {status}); retry later",
            reason="upstream_error",
            retry_after=retry_after,
            **common,
        )
    if status in (400, 413, 422):
        return AIRequestRejected(f"The AI provider {where} rejected the request", **common)
    return AIBadResponse(f"The AI provider {where} answered HTTP {status}", **common)


def unexpected_error(provider: str, model: str, exc: Exception) -> AIBadResponse:
    """A provider raised something unclassified: an answer our code did not expect. Reported
    as a bad response (never a 500), with the traceback in the log."""
    _log.error(
        "ai provider raised an unexpected error",
        exc_info=exc,
        extra={"ai_provider": provider, "ai_model": model},
    )
    return AIBadResponse(
        f"The AI provider {provider} sent an answer TyneBase could not handle",
        provider=provider,
        model=model,
        reason="unexpected",
    )
