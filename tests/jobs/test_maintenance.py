"""Maintenance on the queue: the periodic `mail.deliver` task sends outbox mail through SMTP."""

from __future__ import annotations

import asyncio
import contextlib
import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from procrastinate.exceptions import AlreadyEnqueued

from tests.conftest import TestDatabase, unique
from tests.jobs.helpers import job_settings
from tynebase.db.engine import Database
from tynebase.workers.app import build_queue_app
from tynebase.workers.maintenance import MAINTENANCE_QUEUE
from tynebase.workers.worker import run_until_idle


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept mail (no TLS, no auth)."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        received: list[str] = self.server.received  # type: ignore[attr-defined]
        self.reply("220 fake ESMTP")
        while raw := self.rfile.readline():
            command = raw.decode().strip().upper()
            if command.startswith(("EHLO", "HELO")):
                self.reply("250 fake")
            elif command == "DATA":
                self.reply("354 go on")
                lines = []
                while (line := self.rfile.readline().decode()) not in (".\r\n", ""):
                    lines.append(line)
                received.append("".join(lines))
                self.reply("250 queued")
            elif command == "QUIT":
                self.reply("221 bye")
                return
            else:  # MAIL FROM, RCPT TO, RSET, NOOP
                self.reply("250 ok")


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[str]]]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def test_mail_deliver_sends_queued_outbox_mail(
    database: TestDatabase, owner_sql: psycopg.Connection[Any], smtp: tuple[int, list[str]]
) -> None:
    port, received = smtp
    settings = job_settings(database, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
    subject = unique("Subject ")
    owner_sql.execute(
        "INSERT INTO mail_outbox (to_address, subject, body, created_at) "
        "VALUES ('ops@example.com', %s, 'hello', now() - interval '10 years')",
        (subject,),
    )

    async def run() -> None:
        db = Database(database.urls, settings)
        try:
            app = build_queue_app(settings, db)
            async with app.open_async():
                # What the periodic deferrer does every minute (unless one is already queued).
                with contextlib.suppress(AlreadyEnqueued):
                    await app.configure_task("mail.deliver").defer_async(timestamp=0)
            await run_until_idle(settings, db, queues=[MAINTENANCE_QUEUE])
        finally:
            await db.dispose()

    asyncio.run(run())

    # The oldest pending mail goes first: ours is backdated, so it is in this batch.
    assert any(f"Subject: {subject}" in message for message in received), received
    row = owner_sql.execute(
        "SELECT sent_at IS NOT NULL, attempts FROM mail_outbox WHERE subject = %s", (subject,)
    ).fetchone()
    assert row == (True, 1)
