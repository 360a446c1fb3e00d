"""Queue mail in the outbox (same transaction as the change); deliver after commit."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

import sqlalchemy as sa
from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncConnection

from tynebase.db.metadata import AnyRow
from tynebase.mail.models import outbox
from tynebase.settings import Settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


async def do_queue(conn: AsyncConnection, *, to: str, subject: str, body: str) -> None:
    await conn.execute(outbox.insert().values(to_address=to, subject=subject, body=body))
    log.info("mail queued in outbox", extra={"to": to, "subject": subject})


def _send(settings: Settings, to: str, subject: str, body: str) -> None:
    assert settings.smtp_host is not None
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(message)


async def do_deliver_pending(conn: AsyncConnection, settings: Settings, *, limit: int = 20) -> int:
    """Send queued mail through SMTP (when configured); returns how many were sent."""
    if settings.smtp_host is None:
        return 0
    rows = (
        await conn.execute(
            sa.select(outbox)
            .where(outbox.c.sent_at.is_(None), outbox.c.attempts < MAX_ATTEMPTS)
            .order_by(outbox.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    sent = 0
    for row in rows:
        try:
            await to_thread.run_sync(_send, settings, row.to_address, row.subject, row.body)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("mail delivery failed", extra={"mail_id": str(row.id), "error": str(exc)})
            await conn.execute(
                outbox.update()
                .where(outbox.c.id == row.id)
                .values(attempts=outbox.c.attempts + 1, last_error=str(exc)[:500])
            )
            continue
        await conn.execute(
            outbox.update()
            .where(outbox.c.id == row.id)
            .values(sent_at=sa.func.now(), attempts=outbox.c.attempts + 1)
        )
        sent += 1
    return sent


async def list_outbox(
    conn: AsyncConnection, *, to: str | None = None, limit: int = 50
) -> list[AnyRow]:
    query = sa.select(outbox).order_by(outbox.c.created_at.desc()).limit(limit)
    if to is not None:
        query = query.where(outbox.c.to_address == to.lower())
    return list((await conn.execute(query)).all())
