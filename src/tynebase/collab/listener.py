"""One dedicated Postgres connection per process that LISTENs for other processes' updates
(`tynebase_collab`) and for access changes (`tynebase_access_changed`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import psycopg

from tynebase.auth.revocation import CHANNEL as ACCESS_CHANNEL
from tynebase.collab.store import CHANNEL as COLLAB_CHANNEL

log = logging.getLogger(__name__)
RECONNECT_SECONDS = (0.2, 1.0, 2.0, 5.0)


class Listener:
    def __init__(
        self,
        url: str,
        *,
        on_collab: Callable[[str], None],
        on_access: Callable[[str], None],
        on_reconnect: Callable[[], Awaitable[None]],
    ) -> None:
        self.url = url
        self.connected = False
        self._on_collab = on_collab
        self._on_access = on_access
        self._on_reconnect = on_reconnect
        self.ready = asyncio.Event()

    async def run(self) -> None:
        attempts = 0
        first = True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, application_name="tynebase-collab-listener"
                ) as conn:
                    await conn.execute(f"LISTEN {COLLAB_CHANNEL}")
                    await conn.execute(f"LISTEN {ACCESS_CHANNEL}")
                    self.connected = True
                    self.ready.set()
                    attempts = 0
                    if not first:
                        # Anything announced while we were away was missed: catch up.
                        await self._on_reconnect()
                    first = False
                    async for notify in conn.notifies():
                        handler = (
                            self._on_collab if notify.channel == COLLAB_CHANNEL else self._on_access
                        )
                        try:
                            handler(notify.payload)
                        except Exception:
                            log.exception("bad notification on %s", notify.channel)
            except (psycopg.Error, OSError):
                log.warning("collab listener lost its database connection; reconnecting")
            finally:
                self.connected = False
            await asyncio.sleep(RECONNECT_SECONDS[min(attempts, len(RECONNECT_SECONDS) - 1)])
            attempts += 1
