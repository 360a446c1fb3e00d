"""`tynebase user create-superadmin`."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from tynebase.cli.common import app_database, console, err_console, load_settings, opened, run
from tynebase.errors import TynebaseError

app = typer.Typer(help="User accounts.", no_args_is_help=True)


@app.command("create-superadmin")
def create_superadmin(
    email: str = typer.Option(..., "--email"),
    name: str = typer.Option("Platform admin", "--name"),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="TYNEBASE_SUPERADMIN_PASSWORD",
    ),
) -> None:
    """Create a platform super admin (or promote an existing account)."""
    # Here, not at the top: every other command starts faster (tynebase.cli.common).
    from tynebase.auth.passwords import check_password_strength, hash_password
    from tynebase.users import repo as users_repo

    settings = load_settings()

    async def go() -> str:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                user = await users_repo.get_user_by_email(conn, email)
                if user is not None:
                    await users_repo.update_user(conn, user.id, is_superadmin=True)
                    return f"promoted {user.email} to super admin"
                check_password_strength(password, email=email, name=name)
                await users_repo.insert_user(
                    conn,
                    email=email,
                    name=name,
                    password_hash=await hash_password(password),
                    confirmed_at=datetime.now(UTC),
                    is_superadmin=True,
                )
                return f"created super admin {email.lower()}"

    try:
        console.print(run(go))
    except TynebaseError as exc:
        err_console.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(1) from None
