"""`tynebase collab`: one collaboration server process (scale-out, COL-6)."""

from __future__ import annotations

import gc

import typer

from tynebase.cli.common import console, load_settings, opened


def collab(
    host: str | None = typer.Option(None, help="Bind address (TYNEBASE_COLLAB_HOST)"),
    port: int | None = typer.Option(None, help="Port (TYNEBASE_COLLAB_PORT)"),
) -> None:
    """Run a collaboration (Yjs WebSocket) server; the schema must be at head."""
    # Here, not at the top: every other command starts faster without the web stack.
    from tynebase.collab.app import create_collab_app
    from tynebase.collab.server import serve_app

    settings = load_settings(quiet=False)
    with opened(settings, upgrade=False) as database:
        app = create_collab_app(settings, database.urls)
        bind_host, bind_port = host or settings.collab_host, port or settings.collab_port
        console.print(
            f"TyneBase collaboration on ws://{bind_host}:{bind_port}/collab", highlight=False
        )
        gc.collect()
        gc.freeze()
        serve_app(
            app,
            host=bind_host,
            port=bind_port,
            max_message_bytes=int(settings.collab_max_message_bytes),
            ws=settings.collab_websocket_impl,
            timeout_graceful_shutdown=int(settings.collab_shutdown_seconds) + 5,
        )
