"""`tynebase tenant export SUB --out FILE` and `tynebase tenant import SUB --in FILE`: the
full-fidelity tenant archive (DOC-9; format in `tynebase.export.archive`)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tynebase.cli.common import app_database, console, err_console, load_settings, opened, run
from tynebase.errors import NotFound, TynebaseError

# The functions import the rest themselves: every other command starts faster (tynebase.cli.common).
if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from tynebase.export.tenant_export import ExportSummary
    from tynebase.export.tenant_import import ImportSummary
    from tynebase.settings import Settings
    from tynebase.tenants.repo import Tenant


async def _enter(conn: AsyncConnection, subdomain: str) -> Tenant:
    from tynebase.tenants import repo as tenants_repo

    tenant = await tenants_repo.get_and_enter(conn, subdomain=subdomain.strip().lower())
    if tenant is None:
        raise NotFound(f"Workspace '{subdomain}' does not exist", code="TENANT_NOT_FOUND")
    return tenant


def _fail(exc: TynebaseError) -> typer.Exit:
    err_console.print(f"[red]{exc.code}[/]: {exc.message}")
    if exc.details:
        err_console.print(exc.details)
    return typer.Exit(1)


async def export_archive(settings: Settings, *, subdomain: str, out: Path) -> ExportSummary:
    """Write the archive to `out` (via `out.partial`, renamed once complete)."""
    from tynebase.export import tenant_export
    from tynebase.files.storage import open_blob_store

    partial = out.with_name(out.name + ".partial")
    try:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.engine.connect() as conn:
                # One snapshot for every table, while the workspace keeps working.
                conn = await conn.execution_options(isolation_level="REPEATABLE READ")
                async with conn.begin():
                    tenant = await _enter(conn, subdomain)
                    with partial.open("wb") as handle:
                        summary = await tenant_export.do_export(
                            conn, tenant=tenant, blobs=open_blob_store(settings), out=handle
                        )
                        handle.flush()
                        os.fsync(handle.fileno())
        os.replace(partial, out)
        return summary
    finally:
        partial.unlink(missing_ok=True)


async def import_archive(settings: Settings, *, subdomain: str, source: Path) -> ImportSummary:
    """Import the archive at `source` into the (empty) workspace, in one transaction."""
    import sqlalchemy as sa

    from tynebase.export import tenant_import
    from tynebase.files.storage import open_blob_store

    try:
        zf = zipfile.ZipFile(source)
    except (OSError, zipfile.BadZipFile) as exc:
        raise tenant_import.invalid(f"Cannot read {source} as a zip archive") from exc
    with zf, opened(settings) as database:
        async with app_database(settings, database) as db, db.unit_of_work() as conn:
            tenant = await _enter(conn, subdomain)
            # Two imports into one workspace must not both find it empty.
            lock_key = sa.func.hashtextextended(f"tynebase.import:{tenant.id}", 0)
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock_key)))
            try:
                return await tenant_import.do_import(
                    conn, tenant=tenant, blobs=open_blob_store(settings), zf=zf
                )
            except (sa.exc.IntegrityError, sa.exc.DataError) as exc:
                raise tenant_import.invalid(
                    "The archive's rows break the schema's rules",
                    error=str(exc.orig).splitlines()[0] if exc.orig else "",
                ) from exc


def export(
    subdomain: str,
    out: Annotated[Path, typer.Option("--out", help="Archive file to write (.zip)")],
) -> None:
    """Write a workspace's documents, versions, lineage, taxonomy, templates, share metadata and
    files (with their bytes) to one archive."""
    settings = load_settings()
    try:
        summary = run(lambda: export_archive(settings, subdomain=subdomain, out=out))
    except TynebaseError as exc:
        raise _fail(exc) from None
    rows = ", ".join(f"{n} {table}" for table, n in summary.counts.items() if n)
    console.print(
        f"exported {subdomain} to {out}: {rows or 'no content'}; {summary.people} people, "
        f"{summary.blobs} blobs ({summary.blob_bytes} bytes)"
    )


def import_(
    subdomain: str,
    source: Annotated[
        Path, typer.Option("--in", help="Archive written by `tynebase tenant export`")
    ],
) -> None:
    """Import an archive into an EMPTY workspace (create it first with `tenant create`). Ids are
    remapped; people are matched by email (unknown ones get an account without password or
    membership); share links are kept as records but need new links to be opened."""
    settings = load_settings()
    try:
        summary = run(lambda: import_archive(settings, subdomain=subdomain, source=source))
    except TynebaseError as exc:
        raise _fail(exc) from None
    rows = ", ".join(f"{n} {table}" for table, n in summary.counts.items() if n)
    console.print(f"imported into {subdomain}: {rows or 'no content'}; {summary.blobs} blobs")
    if summary.people_created:
        console.print(
            f"created {len(summary.people_created)} accounts without password or membership "
            f"(invite them to give them access): {', '.join(summary.people_created)}"
        )


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("import")(import_)
