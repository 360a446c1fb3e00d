"""`tynebase worker` and `tynebase jobs list | retry`: the job queue for operators."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer

from tynebase.cli.common import app_database, console, err_console, load_settings, opened, run
from tynebase.errors import NotFound, TynebaseError

# The functions import the rest themselves: every other command starts faster (tynebase.cli.common).
if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from tynebase.db.engine import Database
    from tynebase.jobs.repo import Job
    from tynebase.tenants.repo import Tenant

app = typer.Typer(help="Background jobs: list them, retry failed ones.", no_args_is_help=True)
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


async def _schema_revision(conn: AsyncConnection) -> str | None:
    import sqlalchemy as sa

    try:
        return (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar()
    except sa.exc.ProgrammingError:
        return None


def worker(
    concurrency: int | None = typer.Option(
        None, "--concurrency", help="Jobs run at once (TYNEBASE_WORKER_CONCURRENCY)"
    ),
    queue: Annotated[
        list[str] | None,
        typer.Option("--queue", help="Only these queues (repeatable); default: every queue"),
    ] = None,
) -> None:
    """Run a job worker until Ctrl+C or SIGTERM (running jobs finish or are requeued)."""
    from tynebase.db import migrate
    from tynebase.workers.worker import run_worker

    settings = load_settings(quiet=False)
    with opened(settings) as database:

        async def go() -> None:
            async with app_database(settings, database) as db:
                async with db.engine.connect() as conn:
                    current = await _schema_revision(conn)
                if current != migrate.head_revision():
                    err_console.print(
                        f"database schema is at {current or 'nothing'}, this TyneBase needs "
                        f"{migrate.head_revision()}: run `tynebase db upgrade`"
                    )
                    raise typer.Exit(1)
                console.print(
                    f"TyneBase worker on {', '.join(queue) if queue else 'every queue'}",
                    highlight=False,
                )
                await run_worker(
                    settings,
                    db,
                    queues=queue,
                    concurrency=concurrency,
                    install_signal_handlers=True,
                )

        run(go)


async def _tenants(conn: AsyncConnection, subdomain: str | None) -> list[Tenant]:
    from tynebase.tenants import repo as tenants_repo

    tenants = await tenants_repo.list_all(conn)
    if subdomain is None:
        return tenants
    chosen = [t for t in tenants if t.subdomain == subdomain]
    if not chosen:
        raise NotFound(f"no workspace {subdomain}", code="TENANT_NOT_FOUND")
    return chosen


def _row(job: Job, tenant: Tenant) -> dict[str, Any]:
    from tynebase.jobs.schemas import JobOut

    return {"tenant": tenant.subdomain, **JobOut.of(job).model_dump(mode="json")}


@app.command("list")
def list_(
    status: str | None = typer.Option(
        None, "--status", help="queued | running | succeeded | failed (dead letters) | cancelled"
    ),
    tenant: str | None = typer.Option(None, "--tenant", help="Only this workspace (subdomain)"),
    kind: str | None = typer.Option(None, "--kind", help="Only this job kind"),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """List jobs of every workspace (or one), newest first."""
    from rich.table import Table

    from tynebase.db.engine import set_tenant
    from tynebase.jobs import repo as jobs_repo

    if status is not None and status not in STATUSES:
        err_console.print(f"--status must be one of {', '.join(STATUSES)}")
        raise typer.Exit(2)
    settings = load_settings()

    async def go() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                # Jobs are tenant rows (RLS): read each workspace in turn, as that workspace.
                for workspace in await _tenants(conn, tenant):
                    await set_tenant(conn, workspace.id)
                    jobs = await jobs_repo.list_jobs(conn, status=status, kind=kind, limit=limit)
                    found.extend(_row(job, workspace) for job in jobs)
        found.sort(key=lambda row: (row["created_at"], row["id"]), reverse=True)
        return found[:limit]

    try:
        rows = run(go)
    except TynebaseError as exc:
        err_console.print(f"{exc.code}: {exc.message}")
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table()
    # Whole ids, whatever the terminal's width: they are what `tynebase jobs retry` takes.
    table.add_column("id", no_wrap=True, min_width=36)
    for name in ("workspace", "kind", "status", "tries", "done", "error", "created"):
        table.add_column(name)
    for row in rows:
        error = row["error"]["code"] if row["error"] else ""
        table.add_row(
            row["id"],
            row["tenant"],
            row["kind"],
            "dead letter" if row["dead_letter"] else row["status"],
            str(row["attempts"]),
            f"{row['progress']}%",
            error,
            row["created_at"][:16].replace("T", " "),
        )
    console.print(table)


async def _find_tenant(conn: AsyncConnection, job_id: UUID) -> UUID:
    from tynebase.db.engine import set_tenant
    from tynebase.jobs import repo as jobs_repo
    from tynebase.tenants import repo as tenants_repo

    tenant_id = await jobs_repo.tenant_of_job(conn, job_id)
    if tenant_id is not None:
        return tenant_id
    # Its queue entries were pruned: look in each workspace.
    for workspace in await tenants_repo.list_all(conn):
        await set_tenant(conn, workspace.id)
        if await jobs_repo.get_job(conn, job_id) is not None:
            return workspace.id
    raise NotFound("Job not found", code="JOB_NOT_FOUND")


async def _retry(db: Database, job_id: UUID) -> Job:
    from tynebase.db.engine import set_tenant
    from tynebase.jobs import service as jobs_service

    async with db.unit_of_work() as conn:
        await set_tenant(conn, await _find_tenant(conn, job_id))
        return await jobs_service.do_retry(conn, principal=None, job_id=job_id)


@app.command()
def retry(job_id: UUID) -> None:
    """Queue a failed job (a dead letter) again, with a fresh set of attempts."""
    from tynebase.jobs import registry

    settings = load_settings()

    registry.load_task_modules(settings.job_task_modules)

    async def go() -> Job:
        with opened(settings) as database:
            async with app_database(settings, database) as db:
                return await _retry(db, job_id)

    try:
        job = run(go)
    except TynebaseError as exc:
        err_console.print(f"{exc.code}: {exc.message}")
        raise typer.Exit(1) from None
    console.print(f"job {job.id} ({job.kind}) queued again", highlight=False)
