"""`tynebase mail outbox`: the mail TyneBase queued (the only delivery when SMTP is off)."""

from __future__ import annotations

import json

import typer

from tynebase.cli.common import app_database, console, load_settings, opened, run

app = typer.Typer(help="Outgoing mail.", no_args_is_help=True)


@app.command()
def outbox(
    to: str | None = typer.Option(None, "--to", help="Only mail to this address"),
    limit: int = typer.Option(10, "--limit"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show the newest queued mail (confirmation links, invites, resets)."""
    # Here, not at the top: every other command starts faster (tynebase.cli.common).
    from tynebase.mail import service as mail_service

    settings = load_settings()

    async def go() -> list[dict[str, str | None]]:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                rows = await mail_service.list_outbox(conn, to=to, limit=limit)
        return [
            {
                "to": r.to_address,
                "subject": r.subject,
                "body": r.body,
                "created_at": r.created_at.isoformat(),
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            }
            for r in rows
        ]

    mails = run(go)
    if as_json:
        typer.echo(json.dumps(mails))
        return
    for mail in mails:
        console.rule(f"{mail['created_at']}  to {mail['to']}")
        console.print(f"[bold]{mail['subject']}[/]\n{mail['body']}")
