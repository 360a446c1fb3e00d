"""Doctor checks: API, database degradation and authentication (runbook 3.1, 3.3, 3.5)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from tynebase.auth.signing import CLOCK_SKEW_SECONDS
from tynebase.ops.doctor import DoctorContext, Finding, Severity, check

API = "31-api-not-responding"
DB = "33-database-degradation"
AUTH = "35-authentication-failures"
CONNECTIONS_WARN, CONNECTIONS_FAIL = 0.8, 0.95
DEAD_TUPLES_WARN, DEAD_TUPLES_MIN = 0.2, 1000
LOCKOUTS_WARN, LOCKOUTS_FAIL = 1, 20
UNCONFIRMED_WARN = 50


@check("api", runbook=API, needs_database=False)
async def api_ready(ctx: DoctorContext) -> list[Finding]:
    url = ctx.api_url.rstrip("/") + "/readyz"
    try:
        response = await ctx.http.get(url)
    except httpx.HTTPError as exc:
        return [
            Finding(
                "api",
                Severity.FAIL,
                f"API not responding at {ctx.api_url}: {type(exc).__name__}",
                API,
                "Is the process running? Check its logs and `systemctl status`; then the port "
                "and the load balancer",
                {"url": url, "error": str(exc)[:300]},
            )
        ]
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    failing = {
        name: entries
        for name, entries in (body.get("checks") or {}).items()
        if any(e.get("status") != "pass" for e in entries)
    }
    if response.status_code == 200 and body.get("status") == "pass":
        return [Finding("api", Severity.PASS, f"API ready at {ctx.api_url}", API)]
    severity = Severity.WARN if response.status_code == 200 else Severity.FAIL
    return [
        Finding(
            "api",
            severity,
            f"API at {ctx.api_url} answers /readyz with {response.status_code} "
            f"({body.get('status', 'no health body')}): {', '.join(failing) or 'see evidence'}",
            API,
            "Fix the dependency /readyz names (database, migrations, storage ...)",
            {"status": response.status_code, "failing": failing},
        )
    ]


@check("database", runbook=DB, needs_database=False)
async def database_reachable(ctx: DoctorContext) -> list[Finding]:
    if await ctx.database_ok():
        return [Finding("database", Severity.PASS, "the database answers", DB)]
    return [
        Finding(
            "database",
            Severity.FAIL,
            f"database unreachable: {ctx._db_error}",
            DB,
            "Is PostgreSQL running and reachable from here (host, port, credentials)?",
            {"error": ctx._db_error},
        )
    ]


def _expected_indexes() -> dict[str, set[str]]:
    """Index and constraint names per table, as the models declare them."""
    from tynebase.db.schema import metadata

    expected: dict[str, set[str]] = {}
    for table in metadata.sorted_tables:
        names: set[str] = {str(index.name) for index in table.indexes if index.name}
        if table.primary_key.name:
            names.add(str(table.primary_key.name))
        names |= {
            str(c.name)
            for c in table.constraints
            if c.name and type(c).__name__ == "UniqueConstraint"
        }
        expected[table.name] = names
    return expected


@check("database.indexes", runbook=DB)
async def missing_indexes(ctx: DoctorContext) -> list[Finding]:
    async with await ctx.connect() as conn:
        rows = await (
            await conn.execute(
                "SELECT tablename, indexname FROM pg_indexes WHERE schemaname = 'public'"
            )
        ).fetchall()
        tenant_tables = {
            r[0]
            for r in await (
                await conn.execute(
                    "SELECT table_name FROM information_schema.columns "
                    "WHERE table_schema = 'public' AND column_name = 'tenant_id'"
                )
            ).fetchall()
        }
    present: dict[str, set[str]] = {}
    for table, index in rows:
        present.setdefault(table, set()).add(index)
    missing = {
        table: sorted(names - present.get(table, set()))
        for table, names in _expected_indexes().items()
        if table in present and names - present.get(table, set())
    }
    if not missing:
        return [Finding("database.indexes", Severity.PASS, "every expected index exists", DB)]
    on_tenant_tables = any(table in tenant_tables for table in missing)
    listed = "; ".join(f"{t}: {', '.join(n)}" for t, n in sorted(missing.items()))
    return [
        Finding(
            "database.indexes",
            Severity.FAIL if on_tenant_tables else Severity.WARN,
            f"missing indexes: {listed}",
            DB,
            "Recreate them (see the runbook): `tynebase db check` lists the drift",
            {"missing": missing},
        )
    ]


@check("database.connections", runbook=DB)
async def connections(ctx: DoctorContext) -> list[Finding]:
    async with await ctx.connect() as conn:
        row = await (
            await conn.execute(
                "SELECT (SELECT count(*) FROM pg_stat_activity"
                "  WHERE backend_type = 'client backend'),"
                " current_setting('max_connections')::int"
                " - current_setting('superuser_reserved_connections')::int,"
                " (SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'),"
                " (SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
                "  AND now() - state_change > interval '1 minute')"
            )
        ).fetchone()
    assert row is not None
    used, limit, waiting, idle_in_tx = (int(v) for v in row)
    ratio = used / limit if limit else 0.0
    evidence = {
        "connections": used,
        "limit": limit,
        "waiting_on_locks": waiting,
        "idle_in_transaction": idle_in_tx,
    }
    if ratio >= CONNECTIONS_WARN:
        return [
            Finding(
                "database.connections",
                Severity.FAIL if ratio >= CONNECTIONS_FAIL else Severity.WARN,
                f"connection pool exhaustion: {used} of {limit} database connections in use",
                DB,
                "Find who holds them (pg_stat_activity by application_name); lower "
                "TYNEBASE_DB_POOL_SIZE x processes or raise max_connections",
                evidence,
            )
        ]
    if waiting or idle_in_tx:
        return [
            Finding(
                "database.connections",
                Severity.WARN,
                f"{waiting} connection(s) waiting on locks, {idle_in_tx} idle in transaction",
                DB,
                "Look at pg_locks / pg_stat_activity for the blocker",
                evidence,
            )
        ]
    return [Finding("database.connections", Severity.PASS, f"{used} of {limit} connections", DB)]


@check("database.slow_queries", runbook=DB)
async def slow_queries(ctx: DoctorContext) -> list[Finding]:
    async with await ctx.connect() as conn:
        rows = await (
            await conn.execute(
                "SELECT pid, usename, extract(epoch FROM now() - query_start)::float, "
                "left(query, 200) FROM pg_stat_activity WHERE state = 'active' "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                "AND now() - query_start > make_interval(secs => %s) ORDER BY 3 DESC LIMIT 5",
                (ctx.slow_query_seconds,),
            )
        ).fetchall()
        has_statements = await (
            await conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        ).fetchone()
        slowest: list[Any] = []
        if has_statements:
            slowest = await (
                await conn.execute(
                    "SELECT left(query, 200), calls, round(mean_exec_time::numeric, 1) "
                    "FROM pg_stat_statements WHERE mean_exec_time > 500 "
                    "ORDER BY mean_exec_time DESC LIMIT 5"
                )
            ).fetchall()
    running = [
        {"pid": pid, "user": user, "seconds": round(seconds, 1), "query": query}
        for pid, user, seconds, query in rows
    ]
    averages = [{"query": q, "calls": c, "mean_ms": float(m)} for q, c, m in slowest]
    if not running and not averages:
        return [Finding("database.slow_queries", Severity.PASS, "no slow queries", DB)]
    longest = running[0]["seconds"] if running else 0
    return [
        Finding(
            "database.slow_queries",
            Severity.FAIL if longest > 60 else Severity.WARN,
            f"slow queries: {len(running)} running longer than {ctx.slow_query_seconds:g}s"
            + (f" (longest {longest}s, pid {running[0]['pid']})" if running else "")
            + (f"; {len(averages)} statement(s) averaging over 500 ms" if averages else ""),
            DB,
            "EXPLAIN ANALYZE the query; cancel a runaway one with pg_cancel_backend(pid)",
            {"running": running, "statements": averages},
        )
    ]


@check("database.bloat", runbook=DB)
async def bloat(ctx: DoctorContext) -> list[Finding]:
    async with await ctx.connect() as conn:
        rows = await (
            await conn.execute(
                "SELECT relname, n_live_tup, n_dead_tup FROM pg_stat_user_tables "
                "WHERE n_dead_tup > %s AND n_dead_tup > %s * (n_live_tup + n_dead_tup) "
                "ORDER BY n_dead_tup DESC LIMIT 10",
                (DEAD_TUPLES_MIN, DEAD_TUPLES_WARN),
            )
        ).fetchall()
    if not rows:
        return [Finding("database.bloat", Severity.PASS, "no table is bloated", DB)]
    tables = {name: {"live": live, "dead": dead} for name, live, dead in rows}
    return [
        Finding(
            "database.bloat",
            Severity.WARN,
            f"bloat: dead rows over {DEAD_TUPLES_WARN:.0%} in {', '.join(tables)}",
            DB,
            "VACUUM (ANALYZE) the tables; check that autovacuum runs",
            {"tables": tables},
        )
    ]


@check("auth", runbook=AUTH)
async def authentication(ctx: DoctorContext) -> list[Finding]:
    findings: list[Finding] = []
    async with await ctx.connect() as conn:
        keys = await (
            await conn.execute(
                "SELECT count(*) FILTER (WHERE retires_at IS NULL), "
                "max(created_at) FILTER (WHERE retires_at IS NULL), now() FROM signing_keys"
            )
        ).fetchone()
        users = await (
            await conn.execute(
                "SELECT count(*) FILTER (WHERE locked_until > now()), "
                "count(*) FILTER (WHERE locked_until > now() - interval '1 hour'), "
                "count(*) FILTER (WHERE email_confirmed_at IS NULL "
                "AND created_at < now() - interval '1 day') FROM users"
            )
        ).fetchone()
        unsent = await (
            await conn.execute(
                "SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL "
                "AND created_at < now() - interval '10 minutes'"
            )
        ).fetchone()
    assert keys is not None
    assert users is not None
    assert unsent is not None
    active_keys, newest, db_now = keys
    skew = abs((datetime.now(UTC) - db_now).total_seconds())
    if not active_keys:
        findings.append(
            Finding(
                "auth.signing_keys",
                Severity.FAIL,
                "no active signing key: no one can get an access token",
                AUTH,
                "Run `tynebase keys rotate`",
            )
        )
    else:
        findings.append(
            Finding(
                "auth.signing_keys",
                Severity.PASS,
                f"{active_keys} active signing key(s), newest {newest:%Y-%m-%d}",
                AUTH,
            )
        )
    findings.append(
        Finding(
            "auth.clock",
            Severity.FAIL
            if skew > CLOCK_SKEW_SECONDS
            else Severity.WARN
            if skew > 5
            else Severity.PASS,
            f"clock skew between this host and the database: {skew:.1f}s",
            AUTH,
            "Fix NTP (chrony/timesyncd): tokens are refused when clocks drift" if skew > 5 else "",
            {"skew_seconds": round(skew, 2)},
        )
    )
    locked_now, locked_hour, unconfirmed = (int(v) for v in users)
    if locked_hour >= LOCKOUTS_WARN:
        findings.append(
            Finding(
                "auth.lockouts",
                Severity.FAIL if locked_hour >= LOCKOUTS_FAIL else Severity.WARN,
                f"lockouts in the last hour: {locked_hour} account(s) ({locked_now} still locked)",
                AUTH,
                "A credential-stuffing attack? Check the audit log (auth.login.failed by IP)",
                {"locked_last_hour": locked_hour, "locked_now": locked_now},
            )
        )
    if unconfirmed >= UNCONFIRMED_WARN or int(unsent[0]):
        findings.append(
            Finding(
                "auth.mail",
                Severity.WARN,
                f"{unconfirmed} unconfirmed account(s) older than a day, "
                f"{int(unsent[0])} mail(s) unsent for 10 minutes",
                AUTH,
                "Check SMTP (TYNEBASE_SMTP_*) and `tynebase mail outbox`",
                {"unconfirmed": unconfirmed, "unsent": int(unsent[0])},
            )
        )
    return findings
