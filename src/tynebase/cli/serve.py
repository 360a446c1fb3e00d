"""`tynebase serve` (everything on one machine, embedded database by default) and `tynebase api`."""

from __future__ import annotations

import gc

import typer

from tynebase.cli.common import console, load_settings, opened


def _run_api(*, host: str | None, port: int | None, upgrade: bool, worker: bool) -> None:
    # Imported here, not at the top: every other `tynebase` command starts faster without the
    # whole web app (the runbook test runs dozens of them).
    from tynebase.api.app import create_app
    from tynebase.collab.server import serve_app

    settings = load_settings(quiet=False)
    if settings.run_worker_in_process is None:
        # One machine (`serve`) runs jobs in-process; scaled-out API processes leave them to
        # `tynebase worker`.
        settings = settings.model_copy(update={"run_worker_in_process": worker})
    if settings.run_collab_in_process is None:
        # Likewise the collaboration server: in `serve`, not in scaled-out API processes.
        settings = settings.model_copy(update={"run_collab_in_process": worker})
    with opened(settings, upgrade=upgrade) as database:
        app = create_app(settings, database.urls)
        bind_host, bind_port = host or settings.host, port or settings.port
        where = (
            "embedded PostgreSQL in " + str(settings.data_dir)
            if database.embedded
            else "DATABASE_URL"
        )
        console.print(
            f"TyneBase on http://{bind_host}:{bind_port} (database: {where})", highlight=False
        )
        # Everything imported so far lives for the whole process: keep it out of the cyclic GC,
        # whose full passes otherwise pause requests (measured in docs/PERFORMANCE.md).
        gc.collect()
        gc.freeze()
        # SIGTERM flushes and closes collaboration sockets before uvicorn drops connections.
        serve_app(
            app,
            host=bind_host,
            port=bind_port,
            max_message_bytes=int(settings.collab_max_message_bytes),
            ws=settings.collab_websocket_impl,
            timeout_graceful_shutdown=10,
        )


def serve(
    host: str | None = typer.Option(None, help="Bind address (TYNEBASE_HOST)"),
    port: int | None = typer.Option(None, help="Port (TYNEBASE_PORT)"),
) -> None:
    """Run TyneBase on this machine: migrates the schema, then serves API and web and runs jobs."""
    _run_api(host=host, port=port, upgrade=True, worker=True)


def api(
    host: str | None = typer.Option(None, help="Bind address (TYNEBASE_HOST)"),
    port: int | None = typer.Option(None, help="Port (TYNEBASE_PORT)"),
) -> None:
    """Run one API process (scale-out); the schema must be at head (`tynebase db upgrade`)."""
    _run_api(host=host, port=port, upgrade=False, worker=False)
