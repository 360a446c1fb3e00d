"""Platform maintenance on the queue: periodic tasks that belong to no tenant."""

from __future__ import annotations

import procrastinate

from tynebase.credits import tasks as credits_tasks
from tynebase.db.engine import Database
from tynebase.mail import service as mail_service
from tynebase.settings import Settings

MAINTENANCE_QUEUE = "maintenance"
# Finished queue entries (and their events) older than this are deleted; the tenant-facing
# `jobs` rows stay.
QUEUE_RETENTION_HOURS = 14 * 24


def register(app: procrastinate.App, *, settings: Settings, db: Database) -> None:
    credits_tasks.register(app, db=db, queue=MAINTENANCE_QUEUE)  # release lapsed reservations

    @app.periodic(cron="* * * * *", periodic_id="mail.deliver")
    @app.task(name="mail.deliver", queue=MAINTENANCE_QUEUE, queueing_lock="mail.deliver")
    async def deliver_mail(timestamp: int) -> int:
        """Send outbox mail through SMTP: retries what the after-request delivery could not
        send (SMTP down, process stopped). A no-op without TYNEBASE_SMTP_HOST."""
        async with db.unit_of_work() as conn:
            return await mail_service.do_deliver_pending(conn, settings)

    @app.periodic(cron="17 3 * * *", periodic_id="queue.prune")
    @app.task(name="queue.prune", queue=MAINTENANCE_QUEUE, queueing_lock="queue.prune")
    async def prune_queue(timestamp: int) -> None:
        """Keep procrastinate's tables small."""
        await app.job_manager.delete_old_jobs(
            nb_hours=QUEUE_RETENTION_HOURS,
            include_failed=True,
            include_cancelled=True,
            include_aborted=True,
        )
