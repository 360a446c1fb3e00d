"""`tynebase tenant create | list | suspend | resume | set-tier`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from tynebase.cli.common import app_database, console, err_console, load_settings, opened, run
from tynebase.errors import TynebaseError

# The commands import the rest themselves: every other command starts faster (tynebase.cli.common).
if TYPE_CHECKING:
    from tynebase.tenants.repo import Tenant

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
    from tynebase.tenants import service as tenants_service
    from tynebase.users import repo as users_repo

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
    from rich.table import Table

    from tynebase.tenants import repo as tenants_repo

    settings = load_settings()

    async def go() -> list[Tenant]:
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


def _change(subdomain: str, change: str, value: str, reason: str) -> Tenant:
    """Suspend, resume or re-tier a workspace as the operator (audited in its own log)."""
    from tynebase.audit.service import Actor
    from tynebase.tenants import service as tenants_service

    settings = load_settings()

    async def go() -> Tenant:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                tenant = await tenants_service.access_by_subdomain(conn, subdomain=subdomain)
                actor = Actor.operator()
                if change == "tier":
                    return await tenants_service.do_set_tier(
                        conn, tenant=tenant, tier=value, actor=actor
                    )
                return await tenants_service.do_set_status(
                    conn, tenant=tenant, status=value, actor=actor, reason=reason
                )

    try:
        return run(go)
    except TynebaseError as exc:
        err_console.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(1) from None


@app.command()
def suspend(
    subdomain: str,
    reason: str = typer.Option("", "--reason", help="Kept in the workspace's audit log"),
) -> None:
    """Refuse every request of a workspace (403 TENANT_SUSPENDED) and close its sockets."""
    tenant = _change(subdomain, "status", "suspended", reason)
    console.print(f"workspace [bold]{tenant.subdomain}[/] is {tenant.status}")


@app.command()
def resume(
    subdomain: str,
    reason: str = typer.Option("", "--reason", help="Kept in the workspace's audit log"),
) -> None:
    """Let a suspended workspace in again."""
    tenant = _change(subdomain, "status", "active", reason)
    console.print(f"workspace [bold]{tenant.subdomain}[/] is {tenant.status}")


@app.command("set-tier")
def set_tier(
    subdomain: str, tier: str = typer.Argument(help="free | base | pro | enterprise")
) -> None:
    """Change a workspace's plan (seat limit and storage quota follow)."""
    tenant = _change(subdomain, "tier", tier, "")
    console.print(f"workspace [bold]{tenant.subdomain}[/] is now on the {tenant.tier} tier")
