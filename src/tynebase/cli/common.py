"""What every command shares: settings with a clear error, the database, async running."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console

# `tynebase --help` and every command load every command module: those import what only their
# commands need inside the commands, not at the top (docs/PERFORMANCE.md, "CLI start-up").
if TYPE_CHECKING:
    from tynebase.db.engine import Database
    from tynebase.db.setup import OpenedDatabase
    from tynebase.settings import Settings

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)


def load_settings(*, quiet: bool = True) -> Settings:
    """Settings from the environment; invalid ones end the command with a readable message."""
    from pydantic import ValidationError

    from tynebase.auth.passwords import configure_hashing
    from tynebase.logging import configure_logging
    from tynebase.settings import Settings

    try:
        settings = Settings()
    except ValidationError as exc:
        err_console.print("[bold red]Invalid configuration:[/]")
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) or "settings"
            env = f"TYNEBASE_{field.upper()}" if field != "settings" else ""
            err_console.print(f"  {env or field}: {error['msg']}")
        raise typer.Exit(2) from None
    # Commands print for people; only servers log at the configured level.
    configure_logging("WARNING" if quiet else settings.log_level)
    configure_hashing(settings)
    return settings


@contextmanager
def opened(settings: Settings, *, upgrade: bool = False) -> Iterator[OpenedDatabase]:
    from tynebase.db.setup import open_database

    database = open_database(settings, upgrade=upgrade)
    try:
        yield database
    finally:
        database.close()


@asynccontextmanager
async def app_database(settings: Settings, opened_db: OpenedDatabase) -> AsyncIterator[Database]:
    from tynebase.db.engine import Database

    db = Database(opened_db.urls, settings)
    try:
        yield db
    finally:
        await db.dispose()


def run(factory: Callable[[], Awaitable[T]]) -> T:
    import asyncio  # not at the top: `--help` needs no event loop

    async def main() -> T:
        return await factory()

    return asyncio.run(main())
