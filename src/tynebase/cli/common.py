"""What every command shares: settings with a clear error, the database, async running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from tynebase.db.engine import Database
from tynebase.db.setup import OpenedDatabase, open_database
from tynebase.logging import configure_logging
from tynebase.settings import Settings

T = TypeVar("T")
console = Console()
err_console = Console(stderr=True)


def load_settings(*, quiet: bool = True) -> Settings:
    """Settings from the environment; invalid ones end the command with a readable message."""
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
    return settings


@contextmanager
def opened(settings: Settings, *, upgrade: bool = False) -> Iterator[OpenedDatabase]:
    database = open_database(settings, upgrade=upgrade)
    try:
        yield database
    finally:
        database.close()


@asynccontextmanager
async def app_database(settings: Settings, opened_db: OpenedDatabase) -> AsyncIterator[Database]:
    db = Database(opened_db.urls, settings)
    try:
        yield db
    finally:
        await db.dispose()


def run(factory: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await factory()

    return asyncio.run(main())
