"""Markdown tables (for docs/PERFORMANCE.md) from one bench/api.py JSON document.

.venv/bin/python bench/api.py > result.json && .venv/bin/python bench/report.py result.json
"""

from __future__ import annotations

import json
import sys
from typing import Any


def yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def api_table(api: dict[str, Any]) -> list[str]:
    rows = [
        "| endpoint | server | req/s | p50 ms | p95 ms | p99 ms | server CPU µs/req | non-2xx |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("me", "user_read"):
        entry = api[name]
        servers = [("app", entry["app"])]
        if "decomposition" in entry:
            dec = entry["decomposition"]
            servers.append(
                (
                    "floor, app's SQL",
                    {
                        "rps": dec["floor_sql_rps"],
                        "p50_ms": _median_of(dec["floor_sql_runs"], "p50_ms"),
                        "p95_ms": dec["floor_sql_p95_ms"],
                        "p99_ms": _median_of(dec["floor_sql_runs"], "p99_ms"),
                        "server_cpu_us_per_req": dec["server_cpu_us_per_req"]["floor_sql"],
                        "non_2xx": sum(r["non_2xx"] for r in dec["floor_sql_runs"]),
                    },
                )
            )
        servers.append(("floor (1 SELECT)", entry["floor"]))
        path = "GET /api/auth/me" if name == "me" else "GET /api/users/{id}"
        for label, s in servers:
            rows.append(
                f"| `{path}` | {label} | {s['rps']:.0f} | {s['p50_ms']:.1f} "
                f"| {s['p95_ms']:.1f} | {s['p99_ms']:.1f} "
                f"| {s['server_cpu_us_per_req']:.0f} | {s['non_2xx']} |"
            )
    rows += [
        "",
        "| endpoint | ratio app/floor (req/s) | per rep | CPU ratio floor/app "
        "| app p95 ms | goal | met |",
        "|---|---:|---|---:|---:|---|---|",
    ]
    for name in ("me", "user_read"):
        e = api[name]
        goal = f"ratio ≥ {e['goal']['ratio_min']}, p95 ≤ {e['goal']['app_p95_ms_max']:.0f} ms"
        per_rep = ", ".join(f"{r:.3f}" for r in e["ratio_per_rep"])
        rows.append(
            f"| {name} | {e['ratio']:.3f} | {per_rep}"
            f" | {e['server_cpu_ratio']:.3f} | {e['app']['p95_ms']:.0f} | {goal} "
            f"| {yes(e['met'])} |"
        )
    return rows


def _median_of(runs: list[dict[str, Any]], key: str) -> float:
    values = sorted(r[key] for r in runs)
    mid = len(values) // 2
    return float(values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2)


def startup_table(startup: dict[str, Any]) -> list[str]:
    goals, met = startup["goals"], startup["met"]
    return [
        "| figure | measured (median) | goal | met |",
        "|---|---:|---:|---|",
        f"| cold start (empty data dir → /readyz pass) | {startup['cold_s']:.2f} s "
        f"| ≤ {goals['cold_s_max']:.0f} s | {yes(met['cold'])} |",
        f"| warm start (existing data dir) | {startup['warm_s']:.2f} s "
        f"| ≤ {goals['warm_s_max']:.0f} s | {yes(met['warm'])} |",
        f"| idle RSS, `tynebase serve` process | {startup['idle_rss_mb']:.0f} MB "
        f"(max seen {startup['idle_rss_mb_max_seen']:.0f}) | ≤ {goals['idle_rss_mb_max']:.0f} MB "
        f"| {yes(met['idle_rss'])} |",
        f"| idle embedded postgres ({startup['postgres_processes']} processes) | RSS sum "
        f"{startup['postgres_rss_mb']:.0f} MB, PSS sum {startup['postgres_pss_mb']:.0f} MB "
        "| (reported) | |",
        f"| SIGINT: exits 0, postgres stopped | {startup['stop_s']:.2f} s | clean "
        f"| {yes(met['clean_stop'])} |",
    ]


def main() -> None:
    with open(sys.argv[1]) as handle:
        data = json.load(handle)
    machine = data["machine"]
    print(
        f"Machine: {machine['nproc']} CPUs ({machine['cpu_model']}), load average "
        f"{machine['loadavg_start'][0]} at start, {machine['loadavg_end'][0]} at end; "
        f"commit {machine['git_commit']}.\n"
    )
    if "api" in data:
        print("\n".join(api_table(data["api"])))
        print()
    if "startup" in data:
        print("\n".join(startup_table(data["startup"])))


if __name__ == "__main__":
    main()
