"""`tynebase files check`: the blob store against the files table, for operators."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from tynebase.cli.common import app_database, console, err_console, load_settings, opened, run

app = typer.Typer(help="Stored files: check the blob store.", no_args_is_help=True)


@app.command()
def check(
    tenant: str | None = typer.Option(None, "--tenant", help="Only this workspace (subdomain)"),
    repair: bool = typer.Option(False, "--repair", help="Remove orphaned blobs"),
    grace_seconds: int = typer.Option(
        3600, "--grace-seconds", min=0, help="Leave younger orphans alone (uploads in flight)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """Find files whose blob is missing (exit 1) and blobs no file points to (orphans)."""
    # Here, not at the top: every other command starts faster (tynebase.cli.common).
    from rich.table import Table

    from tynebase.db.engine import set_tenant
    from tynebase.files.check import check_tenant, do_remove_orphans
    from tynebase.files.storage import open_blob_store
    from tynebase.tenants import repo as tenants_repo

    settings = load_settings()
    store = open_blob_store(settings)

    async def go() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        with opened(settings) as database:
            async with app_database(settings, database) as db:
                async with db.unit_of_work() as conn:
                    workspaces = await tenants_repo.list_all(conn)
                for workspace in workspaces:
                    if tenant is not None and workspace.subdomain != tenant:
                        continue
                    async with db.unit_of_work() as conn:
                        await set_tenant(conn, workspace.id)
                        report = await check_tenant(
                            conn,
                            store,
                            tenant_id=workspace.id,
                            now=datetime.now(UTC),
                            grace=timedelta(seconds=grace_seconds),
                        )
                        removed = await do_remove_orphans(conn, store, report) if repair else 0
                    row = {**asdict(report), "tenant": workspace.subdomain, "removed": removed}
                    rows.append({**row, "tenant_id": str(workspace.id)})
        if tenant is not None and not rows:
            raise typer.BadParameter(f"no workspace {tenant}", param_hint="--tenant")
        return rows

    rows = run(go)
    if as_json:
        typer.echo(json.dumps(rows))
    else:
        table = Table("workspace", "files", "blobs", "missing blobs", "orphans", "removed")
        for row in rows:
            table.add_row(
                row["tenant"],
                str(row["files"]),
                str(row["blobs"]),
                str(len(row["missing"])),
                f"{len(row['orphans'])} ({row['orphan_bytes']} bytes)",
                str(row["removed"]),
            )
        console.print(table)
    missing = sum(len(row["missing"]) for row in rows)
    if missing:
        err_console.print(f"{missing} file(s) have no blob: restore them from a backup")
        raise typer.Exit(1)
