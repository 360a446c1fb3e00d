"""`tynebase backup create | verify | restore` (OPS-7)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tynebase.cli.common import app_database, console, err_console, load_settings, opened, run
from tynebase.errors import TynebaseError

# The functions import the rest themselves: every other command starts faster (tynebase.cli.common).
if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

    from tynebase.db.setup import OpenedDatabase
    from tynebase.ops.backup import Target
    from tynebase.settings import Settings

app = typer.Typer(help="Backups of the database and the blob store.", no_args_is_help=True)
Archive = Annotated[Path, typer.Argument(help="A .tar made by `tynebase backup create`")]


class BarProgress:
    """Rich progress bars, one per stage."""

    def __init__(self, bars: RichProgress) -> None:
        self.bars = bars
        self.task: TaskID | None = None

    def stage(self, name: str, total: int | None) -> None:
        if self.task is not None:
            self.bars.update(self.task, completed=self.bars.tasks[-1].total or 0)
        self.task = self.bars.add_task(name, total=total)

    def advance(self, amount: int) -> None:
        if self.task is not None:
            self.bars.advance(self.task, amount)


@contextmanager
def bars() -> Iterator[BarProgress]:
    from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    with RichProgress(
        TextColumn("{task.description:>10}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        yield BarProgress(progress)


def target_of(settings: Settings, database: OpenedDatabase) -> Target:
    from tynebase.db.engine import libpq_url
    from tynebase.ops.backup import Target

    if settings.backup_database_url:
        admin = libpq_url(settings.backup_database_url)
    elif database.embedded is not None:
        admin = libpq_url(database.embedded.superuser_url)
    else:
        # The owner is held to FORCE RLS: pg_dump will say so unless it may bypass it.
        admin = libpq_url(database.urls.owner)
    return Target(urls=database.urls, admin=admin)


def _fail(exc: TynebaseError) -> typer.Exit:
    err_console.print(f"[red]{exc.code}[/]: {exc.message}")
    return typer.Exit(1)


async def _record(
    settings: Settings, database: OpenedDatabase, action: str, details: dict[str, object]
) -> None:
    from tynebase.audit import service as audit_service
    from tynebase.audit.service import Actor

    async with app_database(settings, database) as db, db.unit_of_work() as conn:
        await audit_service.record(
            conn, action=action, actor=Actor.operator(), tenant_id=None, details=details
        )


@app.command()
def create(
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory (default: <data dir>/backups)")
    ] = None,
) -> None:
    """Back up the database (pg_dump) and every blob, with a manifest of checksums."""
    from tynebase.audit import actions as audit_actions
    from tynebase.files.storage import open_blob_store
    from tynebase.ops import backup

    settings = load_settings()
    out_dir = out or settings.backup_dir or settings.data_dir / "backups"
    try:
        with opened(settings) as database, bars() as progress:
            archive, manifest = backup.create(
                target_of(settings, database),
                store=open_blob_store(settings),
                out_dir=out_dir,
                progress=progress,
            )
            run(
                lambda: _record(
                    settings,
                    database,
                    audit_actions.BACKUP_CREATED,
                    {"archive": archive.name, "revision": manifest.alembic_revision},
                )
            )
    except TynebaseError as exc:
        raise _fail(exc) from None
    blobs = sum(1 for name in manifest.files if name.startswith(backup.BLOBS))
    console.print(
        f"wrote {archive} ({archive.stat().st_size} bytes): schema {manifest.alembic_revision}, "
        f"{sum(manifest.row_counts.values())} rows, {blobs} blobs"
    )
    typer.echo(str(archive))


@app.command()
def verify(archive: Archive) -> None:
    """Check every checksum, restore into a scratch database and check it there."""
    from tynebase.ops import restore

    settings = load_settings()
    try:
        with opened(settings) as database, bars() as progress:
            verified = restore.verify(
                target_of(settings, database),
                archive,
                app_role=settings.db_app_role,
                progress=progress,
            )
    except TynebaseError as exc:
        raise _fail(exc) from None
    manifest = verified.manifest
    console.print(
        f"[green]OK[/] {archive.name}: made {manifest.created_at} by TyneBase "
        f"{manifest.app_version}, schema {manifest.alembic_revision}; {verified.tables} tables, "
        f"{verified.rows} rows and {verified.blobs} blobs restored and checked"
    )
    if not verified.restorable_here:
        console.print(
            "[yellow]note[/]: this TyneBase has another schema version; restore it with the "
            f"version that made it ({manifest.app_version})"
        )


@app.command("restore")
def restore_(
    archive: Archive,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation"),
) -> None:
    """Replace the database and the blobs with the archive's. The current ones are kept
    (renamed) until you remove them; nothing changes if any step fails."""
    from tynebase.audit import actions as audit_actions
    from tynebase.files.storage import open_blob_store
    from tynebase.ops import backup, restore

    settings = load_settings()
    try:
        manifest = backup.read_manifest(archive)
        backup.check_schema(manifest)
    except TynebaseError as exc:
        raise _fail(exc) from None
    if not yes:
        typer.confirm(
            f"Replace ALL data with the backup of {manifest.created_at} "
            f"({sum(manifest.row_counts.values())} rows)? Running processes are disconnected",
            abort=True,
        )
    try:
        with opened(settings) as database:
            with bars() as progress:
                restored = restore.restore(
                    target_of(settings, database),
                    archive,
                    store=open_blob_store(settings),
                    app_role=settings.db_app_role,
                    progress=progress,
                )
            run(
                lambda: _record(
                    settings,
                    database,
                    audit_actions.BACKUP_RESTORED,
                    {"archive": archive.name, "created_at": manifest.created_at},
                )
            )
    except TynebaseError as exc:
        raise _fail(exc) from None
    console.print(
        f"restored {archive.name} ({restored.blobs} blobs). Previous database kept as "
        f"[bold]{restored.previous_database}[/]"
        + (f", previous blobs in {restored.previous_blobs}" if restored.previous_blobs else "")
    )
