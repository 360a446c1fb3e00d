"""Running an app that holds collaboration sockets under uvicorn, so that SIGTERM flushes the
rooms and closes sockets with SHUTTING_DOWN before uvicorn drops its connections."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from tynebase.collab.transport import ws_protocol

log = logging.getLogger(__name__)


class CollabAwareServer(uvicorn.Server):
    async def shutdown(self, sockets: Any = None) -> None:
        app = self.config.app
        manager = getattr(getattr(app, "state", None), "collab", None)
        if manager is not None:
            try:
                await manager.shutdown()
            except Exception:
                log.exception("collab shutdown failed")
        await super().shutdown(sockets)


def serve_app(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    max_message_bytes: int,
    ws: str = "websockets-sansio",
    **options: Any,
) -> None:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        ws=ws_protocol(ws),
        # Above our own limit, so an oversized message gets MESSAGE_TOO_LARGE (4413) rather
        # than the transport's 1009; far larger ones are cut off by the transport itself.
        ws_max_size=max(4 * max_message_bytes, 16 * 1024 * 1024),
        **options,
    )
    # uvicorn re-raises the SIGINT it handled once it has shut down gracefully; like
    # `uvicorn.run`, treat Ctrl-C as a clean stop (exit status 0).
    with contextlib.suppress(KeyboardInterrupt):
        CollabAwareServer(config).run()
