"""`tynebase keys rotate`: a new access-token signing key; the old one verifies until it retires."""

from __future__ import annotations

from datetime import timedelta

import typer

from tynebase.cli.common import app_database, console, load_settings, opened, run

app = typer.Typer(help="Access-token signing keys.", no_args_is_help=True)


@app.command()
def rotate(
    overlap_seconds: int | None = typer.Option(
        None,
        "--overlap-seconds",
        help="How long the old key keeps verifying (default: access-token lifetime + skew; "
        "0 invalidates every access token now)",
    ),
) -> None:
    """Start signing with a new key; running processes pick it up within the refresh interval."""
    # Here, not at the top: every other command starts faster (tynebase.cli.common).
    from tynebase.audit import actions as audit_actions
    from tynebase.audit import service as audit_service
    from tynebase.audit.service import Actor
    from tynebase.auth.signing import CLOCK_SKEW_SECONDS, rotate_signing_key

    settings = load_settings()
    overlap = timedelta(
        seconds=overlap_seconds
        if overlap_seconds is not None
        else settings.access_token_ttl_seconds + CLOCK_SKEW_SECONDS
    )

    async def go() -> str:
        with opened(settings) as database:
            async with app_database(settings, database) as db, db.unit_of_work() as conn:
                kid = await rotate_signing_key(conn, master_secret=settings.secret, overlap=overlap)
                await audit_service.record(
                    conn,
                    action=audit_actions.SIGNING_KEY_ROTATED,
                    actor=Actor.operator(),
                    tenant_id=None,
                    target_type="signing_key",
                    target_id=kid,
                    details={"overlap_seconds": int(overlap.total_seconds())},
                )
                return kid

    kid = run(go)
    console.print(f"new signing key [bold]{kid}[/]; previous keys retire in {overlap}")
