"""Matrix entries for jobs: status, list and retry of B's job (a dead letter, so that a retry
that wrongly got through would change B's data and fail the snapshot)."""

from __future__ import annotations

import psycopg

from tests.matrix.core import Target, World, _path
from tynebase.db.engine import libpq_url


def _b_failed_job(world: World) -> str:
    """A failed job of B, written as B (RLS) through the owner role."""
    with (
        psycopg.connect(libpq_url(world.accounts.owner_url), autocommit=True) as conn,
        conn.transaction(),
    ):
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (world.b.tenant_id,))
        row = conn.execute(
            "INSERT INTO jobs (tenant_id, kind, status, created_by, error) "
            "VALUES (%s, 'matrix.job', 'failed', %s, "
            """'{"code": "JOB_ERROR", "message": "B failed"}') RETURNING id::text""",
            (world.b.tenant_id, world.b.user_id),
        ).fetchone()
    assert row is not None
    job_id: str = row[0]
    world.b_markers.add(job_id)
    return job_id


def _b_job(world: World) -> str:
    return world.once("b_job", lambda: _b_failed_job(world))


ENTRIES: dict[tuple[str, str], Target] = {
    ("GET", "/api/jobs"): Target("collection", _path("/api/jobs")),
    ("GET", "/api/jobs/{job_id}"): Target("object", lambda w: f"/api/jobs/{_b_job(w)}"),
    ("POST", "/api/jobs/{job_id}/retry"): Target(
        "object", lambda w: f"/api/jobs/{_b_job(w)}/retry"
    ),
}
