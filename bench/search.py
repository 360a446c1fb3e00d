#!/usr/bin/env python3
"""Keyword search benchmark (DOC-8): prints ONE JSON document on stdout; progress on stderr.

Data: one tenant with 100,000 documents and 9 others with 10,000 each (bench/search_data.py:
prose from the docstrings of the installed Python, mostly published team documents plus drafts,
reviews and private ones), COPYed in as the owner with the tenant set.

Measured, interleaved in the same run (so both see the same machine load):
  app    GET /api/search?q=...&limit=20 on `tynebase serve` (uvicorn, 1 worker, the real app from
         tynebase.api.app.create_app), as a viewer of the big tenant (the most filtered reader);
  floor  the same SQL (compiled from the app's own statement builder) through psycopg, served by
         a raw ASGI app with a fixed pool of connections (bench/search_floor.py).
Both are driven by wrk at a fixed concurrency, rotating through ~50 realistic queries
(bench/search_data.make_queries). Goals: app p95 <= 50 ms and app throughput >= 0.5 x floor.

    .venv/bin/python bench/search.py                       # from nothing (~4-5 minutes)
    .venv/bin/python bench/search.py --data-dir /tmp/tbsearch   # keep the data set for reruns

Reuses bench/api.py (process control, wrk, CPU accounting). Needs `wrk` on PATH.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import api  # noqa: E402  (bench/api.py)
import search_data  # noqa: E402
from search_data import TenantSpec, log  # noqa: E402

GOAL = {"app_p95_ms_max": 50.0, "ratio_min": 0.5}
DATASET_VERSION = 2
VIEWER_EMAIL = "viewer@bench.example"


class PathsBench(api.Bench):
    """bench/api.py's Bench, with wrk rotating through a file of request paths."""

    paths_file: Path

    def wrk(
        self, port: int, path: str, seconds: float, subdomain: str, token: str
    ) -> dict[str, Any]:
        return api.run_wrk(
            f"http://127.0.0.1:{port}{path}",
            script="search_wrk.lua",
            seconds=seconds,
            threads=min(self.args.threads, self.args.connections),
            connections=self.args.connections,
            env={
                "BENCH_TENANT": subdomain,
                "BENCH_TOKEN": token,
                "BENCH_DIR": str(BENCH_DIR),
                "BENCH_PATHS": str(self.paths_file),
            },
        )


def owner_dsn(data_dir: Path) -> str:
    from tynebase.db.embedded import DATABASE, OWNER_ROLE

    info = api.postmaster_of(data_dir)
    assert info is not None, "embedded postgres is not running"
    return f"postgresql://{OWNER_ROLE}@/{DATABASE}?host={info[1]}"


def signup(port: int, dsn: str) -> dict[str, str]:
    """A new workspace through the API; its admin confirmed with the token from the outbox
    (only the very first account of an embedded database is confirmed without mail)."""
    subdomain = "bench" + uuid.uuid4().hex[:8]
    email = f"{subdomain}@example.com"
    status, body = api.http_call(
        port,
        "POST",
        "/api/auth/signup",
        body={
            "email": email,
            "password": api.PASSWORD,
            "name": "Bench Admin",
            "tenant_name": f"Bench {subdomain}",
            "subdomain": subdomain,
        },
    )
    if status != 201:
        raise RuntimeError(f"signup -> {status} {body[:300]!r}")
    data = json.loads(body)
    if data["email_confirmation_required"]:
        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "SELECT body FROM mail_outbox WHERE to_address = %s "
                "ORDER BY created_at DESC LIMIT 1",
                (email,),
            ).fetchone()
        match = re.search(r"^Token: (\S+)$", row[0] if row else "", re.M)
        if match is None:
            raise RuntimeError(f"no confirmation mail for {email}")
        status, body = api.http_call(
            port, "POST", "/api/auth/confirm", body={"token": match.group(1)}
        )
        if status != 200:
            raise RuntimeError(f"confirm -> {status} {body[:300]!r}")
    return {
        "email": email,
        "subdomain": subdomain,
        "user_id": data["user"]["id"],
        "tenant_id": data["tenant"]["id"],
    }


def add_user(dsn: str, tenant_id: str, email: str, role: str, password_hash: str) -> str:
    """A confirmed member, written as the owner (the invite flow would only add mail hops)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "INSERT INTO users (email, name, password_hash, email_confirmed_at) "
            "VALUES (%s, %s, %s, now()) RETURNING id",
            (email, email.split("@")[0], password_hash),
        ).fetchone()
        assert row is not None
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        conn.execute(
            "INSERT INTO memberships (tenant_id, user_id, role) VALUES (%s, %s, %s)",
            (tenant_id, row[0], role),
        )
    return str(row[0])


def build_dataset(
    bench: PathsBench, port: int, data_dir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    from tynebase.auth.passwords import hash_password

    log(f"data set: 1 x {args.big} + {args.others} x {args.small} documents")
    started = time.perf_counter()
    pool = search_data.sentence_pool()
    log(f"  {len(pool)} sentences of prose in {time.perf_counter() - started:.1f}s")
    dsn = owner_dsn(data_dir)
    password_hash = asyncio.run(hash_password(api.PASSWORD))
    specs, accounts = [], []
    for i in range(1 + args.others):
        account = signup(port, dsn)
        authors = [account["user_id"]] + [
            add_user(
                dsn,
                account["tenant_id"],
                f"author{n}-{account['subdomain']}@bench.example",
                "contributor",
                password_hash,
            )
            for n in range(3)
        ]
        if i == 0:
            account["viewer_id"] = add_user(
                dsn, account["tenant_id"], VIEWER_EMAIL, "viewer", password_hash
            )
        accounts.append(account)
        specs.append(TenantSpec(account["tenant_id"], args.big if i == 0 else args.small, authors))
    seconds = search_data.load(dsn, specs, pool, workers=args.load_workers)
    log(f"  loaded {sum(s.documents for s in specs)} documents in {seconds:.0f}s")
    with psycopg.connect(dsn, autocommit=True) as conn:
        size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('documents'))").fetchone()
    return {
        "accounts": accounts,
        "queries": search_data.make_queries(pool, dsn, accounts[0]["tenant_id"]),
        "load_s": round(seconds, 1),
        "documents_size": size[0] if size else None,
        "sentences": len(pool),
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


def probe(
    bench: PathsBench,
    app: api.Server,
    floor: api.Server,
    paths: list[str],
    subdomain: str,
    token: str,
) -> dict[str, Any]:
    """Each query once through both (serially): same hits, how many, and how long alone."""
    headers = {"X-Tenant-Subdomain": subdomain, "Authorization": f"Bearer {token}"}
    per_query, mismatched = [], []
    for path in paths:
        timings = {}
        bodies = {}
        for name, server in (("app", app), ("floor", floor)):
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                status, body = api.http_call(server.port, "GET", path, headers=headers)
                best = min(best, (time.perf_counter() - started) * 1000)
                if status != 200:
                    raise RuntimeError(f"{name} GET {path} -> {status} {body[:300]!r}")
            timings[name], bodies[name] = round(best, 2), json.loads(body)
        app_ids = [item["id"] for item in bodies["app"]["items"]]
        floor_ids = [row[0] for row in bodies["floor"]["items"]][: len(app_ids) or None]
        if app_ids != floor_ids[: len(app_ids)]:
            mismatched.append(path)
        per_query.append(
            {
                "path": path,
                "hits_on_page": len(app_ids),
                "more": bodies["app"]["next_cursor"] is not None,
                "app_ms": timings["app"],
                "floor_ms": timings["floor"],
            }
        )
    return {
        "per_query": per_query,
        "mismatched": mismatched,
        "serial_app_ms": {
            "p50": percentile([q["app_ms"] for q in per_query], 50),
            "p95": percentile([q["app_ms"] for q in per_query], 95),
            "max": max(q["app_ms"] for q in per_query),
        },
        "serial_floor_ms": {
            "p50": percentile([q["floor_ms"] for q in per_query], 50),
            "p95": percentile([q["floor_ms"] for q in per_query], 95),
            "max": max(q["floor_ms"] for q in per_query),
        },
    }


def by_class(per_query: list[dict[str, Any]]) -> dict[str, Any]:
    """Serial latency (each query alone) per query class: what the concurrent p95 is made of."""
    classes: dict[str, list[dict[str, Any]]] = {}
    for query in per_query:
        classes.setdefault(query["class"], []).append(query)
    return {
        name: {
            "queries": len(items),
            "app_ms_median": round(statistics.median(q["app_ms"] for q in items), 2),
            "floor_ms_median": round(statistics.median(q["floor_ms"] for q in items), 2),
            "app_ms_max": max(q["app_ms"] for q in items),
        }
        for name, items in classes.items()
    }


def start_floor(
    bench: PathsBench, *, kind: str, tenant_id: str, user_id: str, role: str, paths_file: Path
) -> api.Server:
    port = api.free_port()
    argv = [
        sys.executable,
        str(BENCH_DIR / "search_floor.py"),
        "--port",
        str(port),
        "--dsn",
        bench._dsn,
        "--tenant-id",
        tenant_id,
        "--user-id",
        user_id,
        "--role",
        role,
        "--kind",
        kind,
        "--paths-file",
        str(paths_file),
        "--pool-size",
        str(bench.args.floor_pool),
    ]
    started = time.perf_counter()
    server = bench._spawn("floor", argv, bench._env({}), port)
    bench._wait_ready(server, "/", started)
    return server


def run_pair(
    bench: PathsBench,
    app: api.Server,
    floor: api.Server,
    *,
    path: str,
    subdomain: str,
    account: dict[str, str],
) -> dict[str, Any]:
    """Interleaved reps of floor and app (order rotated); medians, ratio, goal."""
    info = api.postmaster_of(app.data_dir) if app.data_dir else None
    assert info is not None
    runs: dict[str, list[dict[str, Any]]] = {"floor": [], "app": []}
    order = ["floor", "app"]
    for rep in range(bench.args.reps):
        token = bench.login(app.port, account)
        for name in order[rep % 2 :] + order[: rep % 2]:
            server = floor if name == "floor" else app
            result = bench.measure(server, info[0], path, subdomain, token)
            runs[name].append(result)
            log(
                f"  rep {rep + 1}/{bench.args.reps} {name}: {result['rps']:.0f} req/s p50 "
                f"{result['p50_ms']} p95 {result['p95_ms']} p99 {result['p99_ms']} ms, "
                f"non-2xx {result['non_2xx']}, other load {result['foreign_cpu_cores']} cores"
            )
    app_summary, floor_summary = bench.summarize(runs["app"]), bench.summarize(runs["floor"])
    ratio = round(app_summary["rps"] / floor_summary["rps"], 3)
    return {"figure": app_summary, "floor": floor_summary, "ratio": ratio}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the data set here and reuse it on later runs (default: a "
        "temp dir, removed at the end)",
    )
    parser.add_argument("--big", type=int, default=100_000, help="documents of the big tenant")
    parser.add_argument("--others", type=int, default=9, help="number of other tenants")
    parser.add_argument("--small", type=int, default=10_000, help="documents of each other one")
    parser.add_argument("--load-workers", type=int, default=4)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured wrk run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of wrk before each run")
    parser.add_argument("--reps", type=int, default=3)
    # One request in flight per CPU: the latency of a fully used machine, not of a queue in
    # front of it (app, PostgreSQL and wrk share these CPUs).
    parser.add_argument(
        "--connections", type=int, default=os.cpu_count() or 2, help="wrk concurrency"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--floor-pool",
        type=int,
        default=10,
        help="floor's connections (the app's pool_size default is 10)",
    )
    parser.add_argument("--start-timeout", type=float, default=180.0)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = parser.parse_args(argv)
    # What bench/api.py's Bench reads from its own arguments.
    args.app_variant, args.log_level, args.decompose, args.profile = None, None, False, False
    return args


def dataset_key(args: argparse.Namespace) -> dict[str, Any]:
    return {"version": DATASET_VERSION, "big": args.big, "others": args.others, "small": args.small}


def check_data_dir(data_dir: Path, marker: Path, key: dict[str, Any]) -> None:
    """A kept data dir is reused only with the data set it was made for, and never topped up
    (a run that failed while loading leaves a database without a marker)."""
    has_db = (data_dir / "pg").exists()
    stored = json.loads(marker.read_text()).get("key") if marker.exists() else None
    if has_db and stored != key:
        raise RuntimeError(
            f"{data_dir} holds another or an incomplete data set ({stored}); remove it or "
            "pass another --data-dir"
        )


def start_app(bench: PathsBench, data_dir: Path) -> api.Server:
    # The in-process job worker polls in the background; it is not on the search path.
    app, ready_s = bench.start_serve(
        data_dir,
        extra_env={
            "TYNEBASE_RATE_LIMIT_API_PER_TENANT": api.BENCH_RATE_LIMIT,
            "TYNEBASE_RUN_WORKER_IN_PROCESS": "false",
        },
    )
    log(f"tynebase serve ready in {ready_s:.1f}s on {data_dir}")
    return app


def prepare(
    bench: PathsBench,
    data_dir: Path,
    marker: Path,
    key: dict[str, Any],
    build: Callable[[api.Server], Any],
) -> tuple[api.Server, Any, bool]:
    """The app serving `data_dir` and its data set, built by `build(app)` unless `marker` says a
    kept one matches `key`: (app, dataset, reused)."""
    check_data_dir(data_dir, marker, key)
    reused = marker.exists()
    data_dir.mkdir(parents=True, exist_ok=True)
    app = start_app(bench, data_dir)
    dataset = search_data.cached(marker, key, lambda: build(app))
    bench._dsn = bench.app_dsn(data_dir)
    return app, dataset, reused


def wrk_config(args: argparse.Namespace, **extra: str) -> dict[str, Any]:
    """The load and the setup an app-versus-floor run reports under "config"."""
    return {
        "connections": args.connections,
        "threads": args.threads,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "reps": args.reps,
        "quoted": "median of reps",
        "reader": "viewer of the big tenant",
        "page": "limit=20",
        "app": "tynebase serve (uvicorn, 1 worker), job worker off",
        **extra,
        "floor_db_pool": f"{args.floor_pool} fixed connections",
    }


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print(json.dumps({"error": "wrk not found: apt-get install -y wrk"}))
        return 2
    bench = PathsBench(args)
    report: dict[str, Any] = {"benchmark": "search", "machine": api.machine_info()}

    def run() -> None:
        data_dir = args.data_dir or bench.base / "data"
        marker = data_dir / "bench-search.json"
        app, dataset, reused = prepare(
            bench,
            data_dir,
            marker,
            dataset_key(args),
            lambda app: build_dataset(bench, app.port, data_dir, args),
        )
        big = dataset["accounts"][0]
        viewer = {"email": VIEWER_EMAIL, "subdomain": big["subdomain"]}
        queries = dataset["queries"]
        paths = [f"/api/search?q={quote(q['q'])}&limit=20" for q in queries]
        bench.paths_file = bench.base / "paths.txt"
        bench.paths_file.write_text("\n".join(paths) + "\n")
        floor = start_floor(
            bench,
            kind="search",
            tenant_id=big["tenant_id"],
            user_id=big["viewer_id"],
            role="viewer",
            paths_file=bench.paths_file,
        )
        token = bench.login(app.port, viewer)
        log("probe: each query once through app and floor")
        probed = probe(bench, app, floor, paths, big["subdomain"], token)
        for query, measured in zip(queries, probed["per_query"], strict=True):
            measured.update(query)
        probed["by_class"] = by_class(probed["per_query"])
        log(
            f"  serial app p50 {probed['serial_app_ms']['p50']} ms, p95 "
            f"{probed['serial_app_ms']['p95']} ms; mismatches {len(probed['mismatched'])}"
        )
        log(
            f"wrk: {args.connections} connections, {args.reps} reps of "
            f"{args.warmup}s + {args.duration}s each"
        )
        pair = run_pair(bench, app, floor, path="/", subdomain=big["subdomain"], account=viewer)
        met = (
            pair["figure"]["p95_ms"] <= GOAL["app_p95_ms_max"]
            and pair["ratio"] >= GOAL["ratio_min"]
            and not probed["mismatched"]
            and pair["figure"]["non_2xx"] == 0
        )
        report.update(
            {
                "figure": pair["figure"],
                "floor": pair["floor"],
                "ratio": pair["ratio"],
                "goal": GOAL,
                "met": met,
                "config": wrk_config(args, app_db_pool="pool_size 10 + max_overflow 10 (defaults)"),
                "dataset": {
                    "documents": {
                        "big_tenant": args.big,
                        "other_tenants": [args.small] * args.others,
                    },
                    "sentences": dataset["sentences"],
                    "load_s": dataset["load_s"],
                    "documents_table_size": dataset["documents_size"],
                    "reused": reused,
                },
                "queries": [q["q"] for q in queries],
                "probe": probed,
            }
        )

    return api.run_reported(bench, report, run)


if __name__ == "__main__":
    sys.exit(main())
