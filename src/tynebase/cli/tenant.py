"""`tynebase tenant create | list`."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from tynebase.cli.common import app_database, console, load_settings, opened, run
from tynebase.errors import TynebaseError
from tynebase.tenants import repo as tenants_repo
from tynebase.tenants import service as tenants_service
from tynebase.users import repo as users_repo

app = typer.Typer(help="Workspaces (tenants).", no_args_is_help=True)


@app.command()
def create(
    subdomain: str,
    name: str = typer.Option(..., "--name", help="Display name"),
    tier: str = typer.Option("free", "--tier", help="free | base | pro | enterprise"),
    admin_email: str | None = typer.Option(
        None, "--admin-email", help="Existing user to make admin"
    ),
) -> None:
    """Create a workspace."""
    settings = load_settings()

    async def go() -> None:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                tenant = await tenants_service.do_create(
                    conn, subdomain=subdomain, name=name, tier=tier
                )
                if admin_email:
                    user = await users_repo.get_user_by_email(conn, admin_email)
                    if user is None:
                        raise TynebaseError(
                            f"no user with email {admin_email}", code="USER_NOT_FOUND"
                        )
                    await users_repo.insert_membership(
                        conn, tenant_id=tenant.id, user_id=user.id, role="admin"
                    )
        console.print(
            f"created workspace [bold]{tenant.subdomain}[/] ({tenant.tier}) id={tenant.id}"
        )

    try:
        run(go)
    except TynebaseError as exc:
        console.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(1) from None


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Machine-readable output")) -> None:
    """List workspaces."""
    settings = load_settings()

    async def go() -> list[tenants_repo.Tenant]:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                return await tenants_repo.list_all(conn)

    tenants = run(go)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": str(t.id),
                        "subdomain": t.subdomain,
                        "name": t.name,
                        "tier": t.tier,
                        "status": t.status,
                    }
                    for t in tenants
                ]
            )
        )
        return
    table = Table("subdomain", "name", "tier", "status", "id")
    for t in tenants:
        table.add_row(t.subdomain, t.name, t.tier, t.status, str(t.id))
    console.print(table)
