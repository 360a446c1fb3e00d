"""Rate limits (exact moving window, `limits` library): per IP on auth routes and per tenant.

A moving window counts exactly; a sliding-window estimate lets bursts through at window edges.

Storage is in-memory by default; `TYNEBASE_RATE_LIMIT_STORAGE_URL=redis://...` shares the counters
between API processes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter as LocalMovingWindow

from tynebase.errors import RateLimited
from tynebase.settings import Settings


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, math.ceil(self.reset_at - time.time())))
        return headers


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        url = settings.rate_limit_storage_url.removeprefix("async+")
        self._shared: MovingWindowRateLimiter | None = None
        self._local: LocalMovingWindow | None = None
        if url.startswith("memory"):
            # In-process counters need no I/O: the synchronous storage, whose thread locks are
            # held only for the update itself. The asyncio one holds a per-key asyncio.Lock
            # across an await in a background expiry task, which left a key locked for good
            # once (a request waited forever inside its transaction).
            self._local = LocalMovingWindow(MemoryStorage())
        else:
            # redis-py's asyncio client (the same library the rest of TyneBase uses for Redis).
            options = {"implementation": "redispy"} if url.startswith("redis") else {}
            self._shared = MovingWindowRateLimiter(storage_from_string(f"async+{url}", **options))
        self.auth_per_ip: RateLimitItem = parse(settings.rate_limit_auth_per_ip)
        self.api_per_tenant: RateLimitItem = parse(settings.rate_limit_api_per_tenant)
        self.ai_per_tenant: RateLimitItem = parse(settings.rate_limit_ai_per_tenant)

    async def hit(self, item: RateLimitItem, *key: str) -> Verdict:
        if self._local is not None:
            allowed = self._local.hit(item, *key)
            stats = self._local.get_window_stats(item, *key)
        else:
            assert self._shared is not None
            allowed = await self._shared.hit(item, *key)
            stats = await self._shared.get_window_stats(item, *key)
        return Verdict(
            allowed=allowed, limit=item.amount, remaining=stats.remaining, reset_at=stats.reset_time
        )

    async def check_ai_tenant(self, tenant_id: str) -> None:
        """Per-tenant budget of the AI routes (they cost provider calls); raises RATE_LIMITED."""
        verdict = await self.hit(self.ai_per_tenant, "ai-tenant", tenant_id)
        if not verdict.allowed:
            raise RateLimited(
                "This workspace is making too many AI requests; slow down",
                headers=verdict.headers(),
                details={"limit": "ai_per_tenant"},
            )

    async def check_auth_ip(self, ip: str) -> None:
        """Per-IP budget for the password, token and mail routes; raises RATE_LIMITED."""
        verdict = await self.hit(self.auth_per_ip, "auth-ip", ip)
        if not verdict.allowed:
            raise RateLimited(
                "Too many attempts from this address; slow down", headers=verdict.headers()
            )
