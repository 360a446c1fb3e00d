"""`tynebase user export EMAIL --workspace SUB --out FILE` and `tynebase user erase EMAIL --yes`:
the operator's side of GDPR-1 and GDPR-3 (a person's request arriving by mail, say)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tynebase.cli.common import app_database, console, err_console, load_settings, opened, run
from tynebase.errors import NotFound, TynebaseError

# The functions import the rest themselves: every other command starts faster (tynebase.cli.common).
if TYPE_CHECKING:
    from tynebase.gdpr.service import Erased
    from tynebase.settings import Settings


def _fail(exc: TynebaseError) -> typer.Exit:
    err_console.print(f"[red]{exc.code}[/]: {exc.message}")
    if exc.details:
        err_console.print(exc.details)
    return typer.Exit(1)


def _user_not_found(email: str) -> NotFound:
    return NotFound(f"No account with the email {email}", code="USER_NOT_FOUND")


async def export_user(settings: Settings, *, email: str, subdomain: str, out: Path) -> int:
    """Write the person's export for one workspace to `out`; returns its size in bytes."""
    from tynebase.audit import service as audit_service
    from tynebase.audit.service import Actor
    from tynebase.files.storage import open_blob_store
    from tynebase.gdpr import export as gdpr_export
    from tynebase.gdpr import service
    from tynebase.tenants import repo as tenants_repo
    from tynebase.users import repo as users_repo

    partial = out.with_name(out.name + ".partial")
    try:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                user = await users_repo.get_user_by_email(conn, email)
                if user is None:
                    raise _user_not_found(email)
                tenant = await tenants_repo.get_and_enter(conn, subdomain=subdomain.lower())
                if tenant is None:
                    raise NotFound(
                        f"Workspace '{subdomain}' does not exist", code="TENANT_NOT_FOUND"
                    )
                await audit_service.record(
                    conn,
                    action=service.USER_EXPORTED,
                    actor=Actor.operator(),
                    target_type="user",
                    target_id=user.id,
                )
                size = 0
                with partial.open("wb") as handle:
                    async for chunk in gdpr_export.stream_zip(
                        conn, store=open_blob_store(settings), user_id=user.id, tenant=tenant
                    ):
                        size += handle.write(chunk)
                    handle.flush()
                    os.fsync(handle.fileno())
        os.replace(partial, out)
        return size
    finally:
        partial.unlink(missing_ok=True)


async def erase_user(settings: Settings, *, email: str) -> Erased:
    from tynebase.audit.service import Actor
    from tynebase.files.storage import open_blob_store
    from tynebase.gdpr import service
    from tynebase.users import repo as users_repo

    with opened(settings) as database:
        async with app_database(settings, database) as db:
            async with db.unit_of_work() as conn:
                user = await users_repo.get_user_by_email(conn, email)
            if user is None:
                raise _user_not_found(email)
            return await service.run_erasure(
                db, open_blob_store(settings), user_id=user.id, actor=Actor.operator()
            )


def export(
    email: Annotated[str, typer.Argument(help="The person's account email")],
    workspace: Annotated[str, typer.Option("--workspace", help="Workspace subdomain")],
    out: Annotated[Path, typer.Option("--out", help="Zip file to write")],
) -> None:
    """Export everything about a person in one workspace (GDPR-1) as a zip."""
    settings = load_settings()
    try:
        size = run(lambda: export_user(settings, email=email, subdomain=workspace, out=out))
    except TynebaseError as exc:
        raise _fail(exc) from None
    console.print(f"wrote {out} ({size} bytes)")


def erase(
    email: Annotated[str, typer.Argument(help="The person's account email")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone")] = False,
) -> None:
    """Erase a person's account in every workspace (GDPR-3): documents, files, chats, sessions;
    the audit trail is kept, pseudonymised."""
    if not yes:
        err_console.print("Erasure cannot be undone: repeat with --yes")
        raise typer.Exit(2)
    settings = load_settings()
    try:
        erased = run(lambda: erase_user(settings, email=email))
    except TynebaseError as exc:
        raise _fail(exc) from None
    r = erased.result
    console.print(
        f"erased {r.pseudonym}: {r.workspaces} workspaces, {r.documents} documents, "
        f"{r.files} files ({erased.blobs_removed} blobs removed), {r.chats} chats, "
        f"{r.audit_entries} audit entries pseudonymised"
    )


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("erase")(erase)
