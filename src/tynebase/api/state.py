"""What the app holds for its lifetime (built in the lifespan, never at import time)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tynebase.api.ratelimit import RateLimiter
from tynebase.auth.signing import KeyRing
from tynebase.db.engine import Database
from tynebase.ops.metrics import Metrics
from tynebase.settings import Settings


@dataclass
class AppState:
    settings: Settings
    db: Database
    keyring: KeyRing
    limiter: RateLimiter
    metrics: Metrics
    started_at: float = field(default_factory=time.monotonic)
