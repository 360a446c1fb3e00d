"""`tynebase db upgrade | downgrade REV | status | check`."""

from __future__ import annotations

import typer

from tynebase.cli.common import console, err_console, load_settings, opened

app = typer.Typer(help="Database schema migrations (run as the owner role).", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Create the app role if needed and migrate to the newest schema."""
    # Alembic is imported by the commands that use it, not by every command (tynebase.cli.common).
    from tynebase.db import migrate
    from tynebase.db.setup import prepare_schema

    settings = load_settings()
    with opened(settings) as database:
        prepare_schema(settings, database.urls)
        console.print(f"schema at [bold]{migrate.status(database.urls.owner).current}[/] (head)")


@app.command()
def downgrade(
    revision: str = typer.Argument(..., help="Target revision, or 'base' for an empty schema"),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be undone"),
) -> None:
    """Undo migrations down to REVISION (data in dropped tables is lost)."""
    from tynebase.db import migrate

    settings = load_settings()
    with opened(settings) as database:
        state = migrate.status(database.urls.owner)
        console.print(f"schema at {state.current or 'base'}; downgrade to {revision}")
        if dry_run:
            return
        if not yes and not typer.confirm("Tables created after that revision are dropped. Go on?"):
            raise typer.Exit(1)
        migrate.downgrade(database.urls.owner, revision)
        console.print(f"schema at [bold]{migrate.status(database.urls.owner).current or 'base'}[/]")


@app.command()
def status() -> None:
    """Show the schema revision and whether it is the one this code needs."""
    from tynebase.db import migrate

    settings = load_settings()
    with opened(settings) as database:
        state = migrate.status(database.urls.owner)
    console.print(f"current: {state.current or 'base (empty)'}\nhead:    {state.head}")
    if not state.up_to_date:
        err_console.print("[yellow]pending migrations: run `tynebase db upgrade`[/]")
        raise typer.Exit(1)
    console.print("[green]up to date[/]")


@app.command()
def check() -> None:
    """Verify the live schema: no pending migrations, no drift from the models, RLS everywhere."""
    from tynebase.db import migrate

    settings = load_settings()
    with opened(settings) as database:
        problems = migrate.check(database.urls.owner)
    for problem in problems:
        err_console.print(f"[red]✗[/] {problem}")
    if problems:
        raise typer.Exit(1)
    console.print(
        "[green]schema OK[/]: at head, matches the models, every tenant table has forced RLS"
    )
