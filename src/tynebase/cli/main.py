"""The `tynebase` command."""

from __future__ import annotations

import typer

from tynebase.cli import (
    audit,
    backup,
    collab,
    db,
    doctor,
    files,
    gdpr,
    jobs,
    keys,
    mail,
    maintenance,
    serve,
    sessions,
    tenant,
    tenant_archive,
    user,
)

app = typer.Typer(
    help="TyneBase: a self-hostable, multi-tenant knowledge base.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.command()(serve.serve)
app.command()(serve.api)
app.command()(jobs.worker)
app.command()(collab.collab)
app.add_typer(db.app, name="db")
tenant_archive.register(tenant.app)
app.add_typer(tenant.app, name="tenant")
gdpr.register(user.app)
app.add_typer(user.app, name="user")
app.add_typer(mail.app, name="mail")
app.add_typer(keys.app, name="keys")
app.add_typer(jobs.app, name="jobs")
app.add_typer(files.app, name="files")
app.add_typer(maintenance.app, name="maintenance")
app.add_typer(sessions.app, name="sessions")
app.add_typer(audit.app, name="audit")
app.add_typer(backup.app, name="backup")
app.command()(doctor.doctor)
