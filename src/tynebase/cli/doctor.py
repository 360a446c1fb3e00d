"""`tynebase doctor [--json]`: diagnose the common issues; exit 0 pass, 1 warn, 2 fail."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tynebase.cli.common import console, load_settings, opened, run


def doctor(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable findings"),
    url: str | None = typer.Option(
        None,
        "--url",
        envvar="TYNEBASE_URL",
        help="The API to probe (default: http://TYNEBASE_HOST:TYNEBASE_PORT)",
    ),
    collab_url: str | None = typer.Option(
        None, "--collab-url", envvar="TYNEBASE_COLLAB_URL", help="The collaboration server"
    ),
    slow_seconds: float = typer.Option(
        5.0, "--slow-seconds", help="A query running longer than this is slow"
    ),
    only: Annotated[
        list[str] | None, typer.Option("--check", help="Run only these checks (repeatable)")
    ] = None,
) -> None:
    """Diagnose the API, database, authentication, uploads and error rate; each finding names
    the runbook section to follow."""
    # Here, not at the top: every other command starts faster (tynebase.cli.common).
    from rich.table import Table

    from tynebase.ops.doctor import DoctorContext, Finding, Severity, diagnose, worst

    style = {Severity.PASS: "green", Severity.WARN: "yellow", Severity.FAIL: "bold red"}
    settings = load_settings()
    api_url = url or f"http://{settings.host}:{settings.port}"

    async def go() -> list[Finding]:
        with opened(settings) as database:
            ctx = DoctorContext(
                settings=settings,
                urls=database.urls,
                api_url=api_url,
                collab_url=collab_url,
                slow_query_seconds=slow_seconds,
            )
            return await diagnose(ctx, only=set(only) if only else None)

    findings = run(go)
    status = worst(findings)
    if as_json:
        typer.echo(
            json.dumps(
                {"status": status.label, "findings": [f.as_json() for f in findings]}, indent=1
            )
        )
        raise typer.Exit(int(status))
    table = Table("check", "status", "finding", "runbook", show_lines=False)
    for finding in findings:
        table.add_row(
            finding.check,
            f"[{style[finding.severity]}]{finding.severity.label}[/]",
            finding.summary + (f"\n[dim]{finding.action}[/]" if finding.action else ""),
            f"#{finding.runbook}",
        )
    console.print(table)
    console.print(f"overall: [{style[status]}]{status.label}[/]")
    raise typer.Exit(int(status))
