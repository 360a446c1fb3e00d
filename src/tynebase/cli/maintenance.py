"""`tynebase maintenance on | off | status | schedule | cancel` (OPS-8)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import typer

from tynebase.cli.common import app_database, console, err_console, load_settings, opened, run
from tynebase.errors import TynebaseError

# The commands import the rest themselves: every other command starts faster (tynebase.cli.common).
if TYPE_CHECKING:
    from tynebase.ops.maintenance import MaintenanceState, Window

app = typer.Typer(
    help="Maintenance mode (read-only API) and announced windows.", no_args_is_help=True
)
_RELATIVE = re.compile(r"^\+?(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_time(value: str) -> datetime:
    """ISO-8601 (UTC if no zone) or a delay from now: `30m`, `+2h`, `1d`."""
    text = value.strip()
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = relative.groups()
        return datetime.now(UTC) + timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither an ISO time (2030-01-31T22:00Z) nor a delay (30m, 2h)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _fail(exc: TynebaseError) -> typer.Exit:
    err_console.print(f"[red]{exc.code}[/]: {exc.message}")
    return typer.Exit(1)


def _state_json(state: MaintenanceState) -> dict[str, Any]:
    return {
        "status": "maintenance" if state.active else "ok",
        "maintenance": state.active.as_json() if state.active else None,
        "scheduled": [w.as_json() for w in state.upcoming],
    }


@app.command()
def on(
    message: str | None = typer.Option(None, "--message", "-m", help="Shown to users"),
    until: str | None = typer.Option(
        None, "--until", help="Expected end (ISO time or delay: 30m, 2h); sets Retry-After"
    ),
) -> None:
    """Refuse writes (503 MAINTENANCE) on every API process; reads keep working."""
    from tynebase.audit.service import Actor
    from tynebase.ops import maintenance

    settings = load_settings()
    end = parse_time(until) if until else None

    async def go() -> Window:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                return await maintenance.do_switch_on(
                    conn, message=message, until=end, actor=Actor.operator()
                )

    try:
        window = run(go)
    except TynebaseError as exc:
        raise _fail(exc) from None
    until_text = window.ends_at.isoformat() if window.ends_at else "until `maintenance off`"
    console.print(
        f"maintenance [bold]on[/] ({until_text}): {window.message}\n"
        f"API processes refuse writes within {settings.maintenance_cache_seconds:g}s"
    )


@app.command()
def off() -> None:
    """Accept writes again."""
    from tynebase.audit.service import Actor
    from tynebase.ops import maintenance

    settings = load_settings()

    async def go() -> bool:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                return await maintenance.do_switch_off(conn, actor=Actor.operator())

    was_on = run(go)
    console.print("maintenance [bold]off[/]" if was_on else "maintenance was not on")


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output")) -> None:
    """Whether maintenance is on, and the announced windows."""
    from tynebase.ops import maintenance

    settings = load_settings()

    async def go() -> MaintenanceState:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                return await maintenance.get_state(conn)

    state = run(go)
    if as_json:
        typer.echo(json.dumps(_state_json(state)))
        return
    if state.active:
        end = state.active.ends_at.isoformat() if state.active.ends_at else "no end given"
        console.print(
            f"maintenance [bold red]ON[/] since {state.active.starts_at:%Y-%m-%d %H:%M}"
            f" UTC (until {end}): {state.active.message}"
        )
    else:
        console.print("maintenance [bold green]off[/]: writes are accepted")
    for window in state.upcoming:
        console.print(
            f"scheduled {window.id}: {window.starts_at.isoformat()} -> "
            f"{window.ends_at.isoformat() if window.ends_at else '?'}: {window.message}"
        )


@app.command()
def schedule(
    start: str = typer.Option(..., "--start", help="ISO time or delay from now (2h)"),
    end: str = typer.Option(..., "--end", help="ISO time or delay from now (3h)"),
    message: str | None = typer.Option(None, "--message", "-m"),
    notify: bool = typer.Option(True, "--notify/--no-notify", help="Mail every active user"),
) -> None:
    """Announce a window: listed in /api/status and mailed to users once, now."""
    from tynebase.audit.service import Actor
    from tynebase.ops import maintenance

    settings = load_settings()
    starts_at, ends_at = parse_time(start), parse_time(end)

    async def go() -> tuple[Window, int]:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                return await maintenance.do_schedule(
                    conn,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    message=message,
                    actor=Actor.operator(),
                    notify=notify,
                )

    try:
        window, mailed = run(go)
    except TynebaseError as exc:
        raise _fail(exc) from None
    console.print(
        f"scheduled {window.id}: {window.starts_at.isoformat()} -> "
        f"{window.ends_at.isoformat() if window.ends_at else '?'}; {mailed} user(s) notified"
    )


@app.command()
def cancel(window_id: UUID) -> None:
    """Withdraw an announced window."""
    from tynebase.audit.service import Actor
    from tynebase.ops import maintenance

    settings = load_settings()

    async def go() -> None:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                await maintenance.do_cancel(conn, window_id=window_id, actor=Actor.operator())

    try:
        run(go)
    except TynebaseError as exc:
        raise _fail(exc) from None
    console.print(f"cancelled {window_id}")
