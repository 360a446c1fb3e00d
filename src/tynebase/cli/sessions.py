"""`tynebase sessions revoke --user EMAIL | --tenant SUB | --all` (OPS-9)."""

from __future__ import annotations

import typer

from tynebase.cli.common import app_database, console, err_console, load_settings, opened, run
from tynebase.errors import TynebaseError

app = typer.Typer(help="Sign people out (incident response).", no_args_is_help=True)


@app.command()
def revoke(
    user: str | None = typer.Option(None, "--user", help="Every session of this email"),
    tenant: str | None = typer.Option(None, "--tenant", help="Every session in this workspace"),
    everyone: bool = typer.Option(False, "--all", help="Every session of every workspace"),
    reason: str = typer.Option("revoked by operator", "--reason", help="Kept in the audit log"),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (--all)"),
) -> None:
    """Revoke sessions now: refresh tokens stop working, access tokens are refused at once and
    collaboration sockets are closed."""
    # Here, not at the top: every other command starts faster (tynebase.cli.common).
    from tynebase.audit.service import Actor
    from tynebase.ops import incident

    if sum((user is not None, tenant is not None, everyone)) != 1:
        err_console.print("give exactly one of --user EMAIL, --tenant SUBDOMAIN or --all")
        raise typer.Exit(2)
    if everyone and not yes:
        typer.confirm("Sign out EVERY user of EVERY workspace?", abort=True)
    settings = load_settings()
    actor = Actor.operator()

    async def go() -> incident.Revoked:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                if user is not None:
                    return await incident.do_revoke_user(
                        conn, email=user.lower(), actor=actor, reason=reason
                    )
                if tenant is not None:
                    return await incident.do_revoke_tenant(
                        conn, subdomain=tenant, actor=actor, reason=reason
                    )
                return await incident.do_revoke_all(conn, actor=actor, reason=reason)

    try:
        revoked = run(go)
    except TynebaseError as exc:
        err_console.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(1) from None
    console.print(f"revoked {revoked.sessions} session(s) in {revoked.tenants} workspace(s)")
