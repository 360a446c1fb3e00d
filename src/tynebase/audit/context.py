"""Who is on the other end of the current request, for audit entries written deep in services."""

from __future__ import annotations

from contextvars import ContextVar

# Set per request by `tynebase.ops.middleware.OperationsMiddleware` (after proxy headers).
client_ip_var: ContextVar[str | None] = ContextVar("tynebase_client_ip", default=None)
