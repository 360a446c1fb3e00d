#!/usr/bin/env python3
"""Document list benchmark (DOC-1): prints ONE JSON document on stdout; progress on stderr.

Data: one tenant with 20,000 documents and 2 others with 5,000 (bench/search_data.py text and
status mix), as in bench/search.py.

Measured for two pages, each against its floor, interleaved in the same run:
  first  GET /api/documents?limit=20                the newest page
  deep   GET /api/documents?limit=20&cursor=...     the page after the 10,000th readable document
as a viewer of the big tenant, on `tynebase serve` (uvicorn, 1 worker, the real app), and the
floor: the app's own list statement (tynebase.documents.repo.list_query, compiled once) through
psycopg (bench/search_floor.py --kind list). Goal: app p95 <= 30 ms on both pages.

    .venv/bin/python bench/documents_list.py                      # from nothing (~2-3 minutes)
    .venv/bin/python bench/documents_list.py --data-dir /tmp/tblist   # keep the data for reruns
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import api  # noqa: E402  (bench/api.py)
import search  # noqa: E402  (bench/search.py: data set, floor and wrk helpers)
import search_data  # noqa: E402
from search_data import TenantSpec, log  # noqa: E402

GOAL = {"app_p95_ms_max": 30.0}
DATASET_VERSION = 1
DEEP_AFTER = 10_000


def build_dataset(port: int, data_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    import asyncio

    from tynebase.auth.passwords import hash_password

    log(f"data set: 1 x {args.big} + {args.others} x {args.small} documents")
    pool = search_data.sentence_pool()
    dsn = search.owner_dsn(data_dir)
    password_hash = asyncio.run(hash_password(api.PASSWORD))
    specs, accounts = [], []
    for i in range(1 + args.others):
        account = search.signup(port, dsn)
        authors = [account["user_id"]] + [
            search.add_user(
                dsn,
                account["tenant_id"],
                f"author{n}-{account['subdomain']}@bench.example",
                "contributor",
                password_hash,
            )
            for n in range(3)
        ]
        if i == 0:
            account["viewer_id"] = search.add_user(
                dsn, account["tenant_id"], search.VIEWER_EMAIL, "viewer", password_hash
            )
        accounts.append(account)
        specs.append(TenantSpec(account["tenant_id"], args.big if i == 0 else args.small, authors))
    seconds = search_data.load(dsn, specs, pool, workers=args.load_workers)
    log(f"  loaded {sum(s.documents for s in specs)} documents in {seconds:.0f}s")
    return {"accounts": accounts, "load_s": round(seconds, 1)}


def deep_cursor(port: int, subdomain: str, token: str) -> tuple[str, int]:
    """Walk the list (100 per page) until DEEP_AFTER documents are behind; that cursor."""
    headers = {"X-Tenant-Subdomain": subdomain, "Authorization": f"Bearer {token}"}
    seen, cursor = 0, ""
    while seen < DEEP_AFTER:
        path = "/api/documents?limit=100" + (f"&cursor={quote(cursor)}" if cursor else "")
        status, body = api.http_call(port, "GET", path, headers=headers)
        if status != 200:
            raise RuntimeError(f"GET {path} -> {status} {body[:300]!r}")
        page = json.loads(body)
        seen += len(page["items"])
        if not page["next_cursor"]:
            raise RuntimeError(f"the list ended after {seen} documents")
        cursor = page["next_cursor"]
    return cursor, seen


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the data set here and reuse it (default: a temp dir)",
    )
    parser.add_argument("--big", type=int, default=20_000)
    parser.add_argument("--others", type=int, default=2)
    parser.add_argument("--small", type=int, default=5_000)
    parser.add_argument("--load-workers", type=int, default=4)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--reps", type=int, default=3)
    # One request in flight per CPU: the latency of a fully used machine, not of a queue in
    # front of it (app, PostgreSQL and wrk share these CPUs).
    parser.add_argument(
        "--connections", type=int, default=os.cpu_count() or 2, help="wrk concurrency"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--floor-pool", type=int, default=10)
    parser.add_argument("--start-timeout", type=float, default=180.0)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    args.app_variant, args.log_level, args.decompose, args.profile = None, None, False, False
    return args


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        print(json.dumps({"error": "wrk not found: apt-get install -y wrk"}))
        return 2
    bench = search.PathsBench(args)
    report: dict[str, Any] = {"benchmark": "documents_list", "machine": api.machine_info()}

    def run() -> None:
        data_dir = args.data_dir or bench.base / "data"
        marker = data_dir / "bench-documents.json"
        key = {
            "version": DATASET_VERSION,
            "big": args.big,
            "others": args.others,
            "small": args.small,
        }
        app, dataset, reused = search.prepare(
            bench, data_dir, marker, key, lambda app: build_dataset(app.port, data_dir, args)
        )
        big = dataset["accounts"][0]
        viewer = {"email": search.VIEWER_EMAIL, "subdomain": big["subdomain"]}
        token = bench.login(app.port, viewer)
        cursor, behind = deep_cursor(app.port, big["subdomain"], token)
        pages = {
            "first": "/api/documents?limit=20",
            "deep": f"/api/documents?limit=20&cursor={quote(cursor)}",
        }
        results: dict[str, Any] = {}
        floor = None
        for name, path in pages.items():
            bench.paths_file = bench.base / f"paths-{name}.txt"
            bench.paths_file.write_text(path + "\n")
            floor = search.start_floor(
                bench,
                kind="list",
                tenant_id=big["tenant_id"],
                user_id=big["viewer_id"],
                role="viewer",
                paths_file=bench.paths_file,
            )
            log(f"{name} page: {path[:80]}")
            pair = search.run_pair(
                bench, app, floor, path="/", subdomain=big["subdomain"], account=viewer
            )
            bench.stop(floor)
            pair["met"] = (
                pair["figure"]["p95_ms"] <= GOAL["app_p95_ms_max"]
                and pair["figure"]["non_2xx"] == 0
            )
            results[name] = {
                "path": path.split("&cursor=")[0] + ("&cursor=..." if name == "deep" else ""),
                **pair,
            }
        report.update(
            {
                "figure": {name: r["figure"] for name, r in results.items()},
                "floor": {name: r["floor"] for name, r in results.items()},
                "ratio": {name: r["ratio"] for name, r in results.items()},
                "goal": GOAL,
                "met": all(r["met"] for r in results.values()),
                "pages": {
                    name: {"path": r["path"], "met": r["met"]} for name, r in results.items()
                },
                "deep_page_after_documents": behind,
                "config": search.wrk_config(args),
                "dataset": {
                    "big_tenant": args.big,
                    "other_tenants": [args.small] * args.others,
                    "all_documents": args.big + args.others * args.small,
                    "load_s": dataset["load_s"],
                    "reused": reused,
                },
            }
        )

    return api.run_reported(bench, report, run)


if __name__ == "__main__":
    sys.exit(main())
