#!/usr/bin/env python3
"""API benchmark (`make bench`): prints ONE JSON document on stdout; progress goes to stderr.

What one run measures (see docs/PERFORMANCE.md, section "API (issue: platform foundation)"):

1. `tynebase serve` startup: cold (empty data dir -> /readyz "pass"), warm (same dir again), idle
   RSS of the serve process and, separately, of the embedded postgres processes; then SIGINT and a
   check that the process exits and the embedded postgres stops.
2. Throughput and latency (wrk, keep-alive connections) of the real app started with
   `tynebase serve` on an embedded PostgreSQL for
     me        GET /api/auth/me              (access token + X-Tenant-Subdomain)
     user_read GET /api/users/{own user id}  (single-row tenant-scoped read)
   and of the floor (bench/floor.py: raw ASGI + psycopg pool, one SELECT) in the same run,
   interleaved, so the ratio app/floor is measured under the same machine load; and of the
   framework's floor (the same SELECT behind a minimal FastAPI app, `floor.py --shape fastapi`),
   which shows how much of the floor's throughput FastAPI itself leaves to any app.

Everything it starts (servers, embedded postgres, wrk) is stopped, and its temp dir removed, even
on failure or Ctrl-C. Needs `wrk` on PATH (Debian: apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from profile_summary import summarize_collapsed  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
PASSWORD = "mellow-otter-tuba-91"  # noqa: S105 (the bench account, in a temp database)
GOALS = {
    "api": {"ratio_min": 0.5, "app_p95_ms_max": 25.0},
    "startup": {"cold_s_max": 15.0, "warm_s_max": 4.0, "idle_rss_mb_max": 300.0},
}
# The default per-tenant API budget (6000/minute) would turn a benchmark into a 429 benchmark; the
# limiter still runs on every request (same code path), it just never refuses. A one-second window:
# the in-memory moving window keeps one entry per hit inside the window, so this holds about one
# second of traffic (hundreds of entries), no more than the default 6000/minute ever holds; a
# per-minute window at these rates would grow to tens of thousands of entries, a state production
# never reaches.
BENCH_RATE_LIMIT = "1000000000/second"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# /proc helpers


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # [0]=state [1]=ppid ... [11]=utime [12]=stime


def alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def cpu_seconds(pid: int) -> float | None:
    fields = _stat_fields(pid)
    return None if fields is None else (int(fields[11]) + int(fields[12])) / CLK_TCK


def sys_cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    return 0.0 if fields is None else int(fields[12]) / CLK_TCK


def children(ppid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == ppid:
                found.append(int(entry.name))
    return found


def tree(root: int) -> list[int]:
    return [root, *children(root)] if alive(root) else []


def status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds summed over all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLK_TCK, sum(values) / CLK_TCK


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------------------------
# HTTP helpers (stdlib only: the load itself comes from wrk)


def http_call(
    port: int,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body).encode()
        all_headers = dict(headers or {})
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=all_headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else float("nan")


# --------------------------------------------------------------------------------------------
# Processes


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    data_dir: Path | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


def postmaster_of(data_dir: Path) -> tuple[int, str] | None:
    """(pid, socket dir) of the embedded postgres running in `data_dir`, from postmaster.pid."""
    try:
        lines = (data_dir / "pg" / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    return int(lines[0]), lines[4]


@dataclass
class Bench:
    args: argparse.Namespace
    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tbb", dir="/tmp")))
    servers: list[Server] = field(default_factory=list)
    postmasters: dict[int, Path] = field(default_factory=dict)  # pid -> pgdata
    _dsn: str = ""

    @property
    def gc_stats_path(self) -> Path:
        return self.base / "gc-stats.json"

    def gc_stats(self, server: Server) -> dict[str, Any] | None:
        """With --app-variant: the app's GC pauses since the previous call (SIGUSR1)."""
        if not self.args.app_variant or server.name != "serve":
            return None
        path = self.gc_stats_path
        before = json.loads(path.read_text())["seq"] if path.exists() else 0
        os.kill(server.pid, signal.SIGUSR1)
        deadline = time.perf_counter() + 5
        while time.perf_counter() < deadline:
            with contextlib.suppress(OSError, ValueError, KeyError):
                data = json.loads(path.read_text())
                if data["seq"] > before:
                    return dict(data)
            time.sleep(0.02)
        return None

    # ---- process control ------------------------------------------------------------------

    def _env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("TYNEBASE_") and k != "DATABASE_URL"
        }
        env.update(extra)
        return env

    def _spawn(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        port: int,
        data_dir: Path | None = None,
    ) -> Server:
        log_path = self.base / f"{name}-{len(self.servers)}.log"
        with log_path.open("wb") as out:
            # Own session: a Ctrl-C on the terminal reaches only us, and we stop them in order.
            proc = subprocess.Popen(
                argv,
                env=env,
                cwd=self.base,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(name=name, proc=proc, port=port, log_path=log_path, data_dir=data_dir)
        self.servers.append(server)
        return server

    def start_serve(
        self, data_dir: Path, *, extra_env: dict[str, str] | None = None
    ) -> tuple[Server, float]:
        """`tynebase serve` on `data_dir`; returns it and the seconds until /readyz said pass."""
        port = free_port()
        env = self._env(
            {"TYNEBASE_DATA_DIR": str(data_dir), "TYNEBASE_PORT": str(port), **(extra_env or {})}
        )
        tynebase = Path(sys.executable).parent / "tynebase"
        argv = (
            [str(tynebase), "serve"]
            if tynebase.exists()
            else [sys.executable, "-c", "from tynebase.cli.main import app; app()", "serve"]
        )
        if extra_env and self.args.app_variant:  # the API phase only; startup stays pure
            argv = [sys.executable, str(BENCH_DIR / "serve_variant.py"), self.args.app_variant]
            env["BENCH_GC_STATS"] = str(self.gc_stats_path)
        started = time.perf_counter()
        server = self._spawn("serve", argv, env, port, data_dir)
        self._wait_ready(server, "/readyz", started)
        ready_s = time.perf_counter() - started
        info = postmaster_of(data_dir)
        if info is not None:
            self.postmasters[info[0]] = data_dir / "pg"
        return server, ready_s

    def _wait_ready(self, server: Server, path: str, started: float) -> None:
        while True:
            if server.proc.poll() is not None:
                raise RuntimeError(
                    f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}"
                )
            with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
                status, body = http_call(server.port, "GET", path, timeout=2.0)
                if path != "/readyz" or (status == 200 and json.loads(body)["status"] == "pass"):
                    return  # the floors answer any request once their pool is open
            if time.perf_counter() - started > self.args.start_timeout:
                raise TimeoutError(
                    f"{server.name} not ready after {self.args.start_timeout}s:\n"
                    f"{server.log_tail()}"
                )
            time.sleep(0.05)

    def stop(self, server: Server, *, timeout: float = 20.0) -> dict[str, Any]:
        """SIGINT (what Ctrl-C sends `tynebase serve`), then check it and its postgres are gone."""
        info = postmaster_of(server.data_dir) if server.data_dir else None
        started = time.perf_counter()
        exit_code: int | None
        if server.proc.poll() is None:
            server.proc.send_signal(signal.SIGINT)
        try:
            exit_code = server.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
            exit_code = None
        stop_s = time.perf_counter() - started
        with contextlib.suppress(ValueError):
            self.servers.remove(server)
        result: dict[str, Any] = {
            "exit_code": exit_code,
            "exited_on_sigint": exit_code is not None,
            "stop_s": round(stop_s, 3),
        }
        if info is not None:
            pid = info[0]
            deadline = time.perf_counter() + 10
            while alive(pid) and time.perf_counter() < deadline:
                time.sleep(0.05)
            pid_file = server.data_dir / "pg" / "postmaster.pid" if server.data_dir else None
            result["postgres_stopped"] = not alive(pid) and not (pid_file and pid_file.exists())
            if not result["postgres_stopped"]:
                self._kill_postmaster(pid, self.postmasters.get(pid))
            self.postmasters.pop(pid, None)
        return result

    def _kill_postmaster(self, pid: int, pgdata: Path | None) -> None:
        """Last resort: fast shutdown, then immediate, then kill (only if it is still ours)."""
        for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                return
            if pgdata is None or str(pgdata).encode() not in cmdline or not alive(pid):
                return
            log(f"stopping leftover postgres {pid} with {sig.name}")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            deadline = time.perf_counter() + wait
            while alive(pid) and time.perf_counter() < deadline:
                time.sleep(0.05)

    def cleanup(self) -> None:
        # Floor first (it holds connections to the embedded postgres), then the serve processes.
        for server in sorted(self.servers, key=lambda s: not s.name.startswith("floor")):
            with contextlib.suppress(Exception):
                self.stop(server)
        for pid, pgdata in list(self.postmasters.items()):
            self._kill_postmaster(pid, pgdata)
        if self.args.keep:
            log(f"kept {self.base}")
        else:
            shutil.rmtree(self.base, ignore_errors=True)

    # ---- startup ------------------------------------------------------------------------------

    def idle_memory(self, server: Server) -> dict[str, Any]:
        time.sleep(self.args.idle_s)
        serve_kb = status_kb(server.pid, "VmRSS")
        pg: dict[str, Any] = {"processes": 0, "rss_mb": 0.0, "pss_mb": 0.0}
        info = postmaster_of(server.data_dir) if server.data_dir else None
        if info is not None:
            pids = tree(info[0])
            pg = {
                "processes": len(pids),
                "rss_mb": round(sum(status_kb(p, "VmRSS") for p in pids) / 1024, 1),
                "pss_mb": round(sum(pss_kb(p) for p in pids) / 1024, 1),
            }
        return {
            "serve_rss_mb": round(serve_kb / 1024, 1),
            "serve_pss_mb": round(pss_kb(server.pid) / 1024, 1),
            "postgres": pg,
        }

    def startup(self) -> dict[str, Any]:
        runs: list[dict[str, Any]] = []
        for i in range(self.args.startup_reps):
            data_dir = self.base / f"d{i}"
            for kind in ("cold", "warm"):
                log(f"startup {kind} #{i + 1}: tynebase serve on {data_dir}")
                server, ready_s = self.start_serve(data_dir)
                memory = self.idle_memory(server)
                stopped = self.stop(server)
                runs.append({"kind": kind, "ready_s": round(ready_s, 3), **memory, **stopped})
                log(
                    f"  ready in {ready_s:.2f}s, idle RSS {memory['serve_rss_mb']} MB, "
                    f"postgres {memory['postgres']['rss_mb']} MB; stop {stopped}"
                )
        cold = [r["ready_s"] for r in runs if r["kind"] == "cold"]
        warm = [r["ready_s"] for r in runs if r["kind"] == "warm"]
        idle_rss = median([r["serve_rss_mb"] for r in runs])
        pg_rss = median([r["postgres"]["rss_mb"] for r in runs])
        pg_pss = median([r["postgres"]["pss_mb"] for r in runs])
        clean = all(r["exited_on_sigint"] and r.get("postgres_stopped") for r in runs)
        goals = GOALS["startup"]
        met = {
            "cold": median(cold) <= goals["cold_s_max"],
            "warm": median(warm) <= goals["warm_s_max"],
            "idle_rss": idle_rss <= goals["idle_rss_mb_max"],
            "clean_stop": clean,
        }
        return {
            "cold_s": median(cold),
            "warm_s": median(warm),
            "idle_rss_mb": idle_rss,
            "idle_rss_mb_max_seen": max(r["serve_rss_mb"] for r in runs),
            "postgres_rss_mb": pg_rss,
            "postgres_pss_mb": pg_pss,
            "postgres_processes": runs[-1]["postgres"]["processes"],
            "stop_s": median([r["stop_s"] for r in runs]),
            "clean_stop": clean,
            "goals": goals,
            "met": met,
            "all_met": all(met.values()),
            "runs": runs,
        }

    # ---- API ----------------------------------------------------------------------------------

    def api(self) -> dict[str, Any]:
        data_dir = self.base / "api"
        extra = {"TYNEBASE_RATE_LIMIT_API_PER_TENANT": BENCH_RATE_LIMIT}
        if self.args.log_level:
            extra["TYNEBASE_LOG_LEVEL"] = self.args.log_level
        for pair in getattr(self.args, "app_env", None) or []:
            name, _, value = pair.partition("=")
            extra[name] = value
        level = self.args.log_level or "INFO (default)"
        log(f"api: tynebase serve on {data_dir} (log level {level})")
        app, _ = self.start_serve(data_dir, extra_env=extra)
        account = self.signup(app.port)
        self.login(app.port, account)  # also records a live session id for --decompose
        self._dsn = self.app_dsn(data_dir)
        floor = self.start_floor(account, shape="one")
        framework = self.start_floor(account, shape="fastapi")
        pg = postmaster_of(data_dir)
        assert pg is not None
        headers = {"X-Tenant-Subdomain": account["subdomain"]}
        user_path = f"/api/users/{account['user_id']}"
        targets: dict[str, tuple[Server, str]] = {
            "floor": (floor, user_path),
            "floor_fastapi": (framework, user_path),
            "me": (app, "/api/auth/me"),
            "user_read": (app, user_path),
        }
        if self.args.decompose:
            floor_sql = self.start_floor(account, shape="app")
            targets["floor_sql_me"] = (floor_sql, "/api/auth/me")
            targets["floor_sql_user_read"] = (floor_sql, user_path)
        samples = {}
        for name, (server, path) in targets.items():
            status, body = http_call(
                server.port,
                "GET",
                path,
                headers={**headers, "Authorization": f"Bearer {self.login(app.port, account)}"},
            )
            if status != 200:
                raise RuntimeError(f"{name}: GET {path} -> {status} {body[:300]!r}")
            samples[name] = {"bytes": len(body), "body": json.loads(body)}
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
        order = list(targets)
        for rep in range(self.args.reps):
            token = self.login(app.port, account)
            for name in order[rep % len(order) :] + order[: rep % len(order)]:  # rotate the order
                server, path = targets[name]
                log(f"rep {rep + 1}/{self.args.reps} {name}: GET {path}")
                result = self.measure(server, pg[0], path, account["subdomain"], token)
                runs[name].append(result)
                log(
                    f"  {result['rps']:.0f} req/s p50 {result['p50_ms']} p95 {result['p95_ms']} "
                    f"p99 {result['p99_ms']} ms; server CPU {result['server_cpu_us_per_req']} "
                    f"us/req; other load {result['foreign_cpu_cores']} cores"
                )
        rss_after_kb = status_kb(app.pid, "VmRSS")
        profile = self.profile(app, pg[0], targets, account) if self.args.profile else None
        for server in [s for s in self.servers if s.name.startswith("floor")]:
            self.stop(server)
        app_stop = self.stop(app)
        floor_summary = self.summarize(runs["floor"])
        framework_summary = self.summarize(runs["floor_fastapi"])
        out: dict[str, Any] = {
            "config": {
                "connections": self.args.connections,
                "threads": self.args.threads,
                "duration_s": self.args.duration,
                "warmup_s": self.args.warmup,
                "reps": self.args.reps,
                "quoted": "median of reps",
                "app_log_level": self.args.log_level or "INFO (default)",
                "app_env": getattr(self.args, "app_env", None) or [],
                "app_command": (
                    f"bench/serve_variant.py {self.args.app_variant}"
                    if self.args.app_variant
                    else "tynebase serve"
                ),
                "app_db_pool": "pool_size 10 + max_overflow 10 (defaults)",
                "floor_db_pool": f"{self.args.floor_pool} fixed connections",
                "rate_limit_api_per_tenant": BENCH_RATE_LIMIT,
            },
        }
        goals = GOALS["api"]
        for name in ("me", "user_read"):
            app_summary = self.summarize(runs[name])
            ratio = round(app_summary["rps"] / floor_summary["rps"], 3)
            per_rep = [
                round(a["rps"] / f["rps"], 3)
                for a, f in zip(runs[name], runs["floor"], strict=True)
            ]
            cpu_ratio = round(
                floor_summary["server_cpu_us_per_req"] / app_summary["server_cpu_us_per_req"], 3
            )
            out[name] = {
                "path": targets[name][1],
                "app": app_summary,
                "floor": floor_summary,
                "ratio": ratio,
                "ratio_per_rep": per_rep,
                "ratio_per_rep_median": median(per_rep),
                "server_cpu_ratio": cpu_ratio,
                "goal": goals,
                "met": (
                    ratio >= goals["ratio_min"] and app_summary["p95_ms"] <= goals["app_p95_ms_max"]
                ),
                "response_bytes": samples[name]["bytes"],
                # The same SELECT behind a minimal FastAPI app: what the framework allows.
                "framework_floor": framework_summary,
                "framework_floor_ratio": round(framework_summary["rps"] / floor_summary["rps"], 3),
                "app_vs_framework_floor": round(app_summary["rps"] / framework_summary["rps"], 3),
            }
            if self.args.decompose:
                out[name]["decomposition"] = self.decompose(
                    floor_summary, self.summarize(runs[f"floor_sql_{name}"]), app_summary
                )
        out["floor_response_bytes"] = samples["floor"]["bytes"]
        out["app_rss_after_load_mb"] = round(rss_after_kb / 1024, 1)
        out["app_stop"] = app_stop
        if profile is not None:
            out["profile"] = profile
        return out

    @staticmethod
    def decompose(
        floor: dict[str, Any], same_sql: dict[str, Any], app: dict[str, Any]
    ) -> dict[str, Any]:
        """Server CPU per request, split: the floor's one query; the app's extra statements and
        round trips (same SQL, raw psycopg); the rest (framework, ORM, app code)."""
        key = "server_cpu_us_per_req"
        return {
            "floor_sql_rps": same_sql["rps"],
            "floor_sql_p95_ms": same_sql["p95_ms"],
            "server_cpu_us_per_req": {
                "floor": floor[key],
                "floor_sql": same_sql[key],
                "app": app[key],
            },
            "postgres_cpu_us_per_req": {
                "floor": floor["postgres_cpu_us_per_req"],
                "floor_sql": same_sql["postgres_cpu_us_per_req"],
                "app": app["postgres_cpu_us_per_req"],
            },
            "app_server_cpu_share": {
                "floor_work": round(floor[key] / app[key], 3),
                "extra_statements_and_round_trips": round(
                    (same_sql[key] - floor[key]) / app[key], 3
                ),
                "framework_orm_app_code": round((app[key] - same_sql[key]) / app[key], 3),
            },
            "floor_sql_runs": same_sql["runs"],
        }

    def signup(self, port: int) -> dict[str, str]:
        subdomain = "bench" + uuid.uuid4().hex[:8]
        email = f"{subdomain}@example.com"
        status, body = http_call(
            port,
            "POST",
            "/api/auth/signup",
            body={
                "email": email,
                "password": PASSWORD,
                "name": "Bench Admin",
                "tenant_name": "Bench workspace",
                "subdomain": subdomain,
            },
        )
        if status != 201:
            raise RuntimeError(f"signup -> {status} {body[:300]!r}")
        data = json.loads(body)
        if data["email_confirmation_required"]:
            raise RuntimeError("the first admin was not auto-confirmed (embedded, development)")
        return {
            "email": email,
            "subdomain": subdomain,
            "user_id": data["user"]["id"],
            "tenant_id": data["tenant"]["id"],
        }

    def login(self, port: int, account: dict[str, str]) -> str:
        status, body = http_call(
            port,
            "POST",
            "/api/auth/login",
            headers={"X-Tenant-Subdomain": account["subdomain"]},
            body={"email": account["email"], "password": PASSWORD},
        )
        if status != 200:
            raise RuntimeError(f"login -> {status} {body[:300]!r}")
        tokens = json.loads(body)
        if tokens.get("session_id"):
            account.setdefault("session_id", str(tokens["session_id"]))
        return str(tokens["access_token"])

    def app_dsn(self, data_dir: Path) -> str:
        """The app role's libpq URL, derived exactly as `tynebase serve` derives it."""
        from tynebase.db.embedded import DATABASE, OWNER_ROLE
        from tynebase.db.engine import libpq_url
        from tynebase.settings import Settings

        info = postmaster_of(data_dir)
        assert info is not None, "embedded postgres is not running"
        settings = Settings(
            _env_file=None,
            data_dir=data_dir,
            secret_key=None,
            database_url=None,
            app_database_url=None,
            db_app_role="tynebase_app",
        )
        owner = f"postgresql+psycopg://{OWNER_ROLE}@/{DATABASE}?host={info[1]}"
        return libpq_url(settings.app_url_from(owner))

    def start_floor(self, account: dict[str, str], *, shape: str) -> Server:
        port = free_port()
        argv = [
            sys.executable,
            str(BENCH_DIR / "floor.py"),
            "--port",
            str(port),
            "--tenant-id",
            account["tenant_id"],
            "--user-id",
            account["user_id"],
            "--pool-size",
            str(self.args.floor_pool),
            "--shape",
            shape,
            "--session-id",
            account["session_id"],
        ]
        started = time.perf_counter()
        env = self._env({"BENCH_FLOOR_DSN": self._dsn})
        name = {"one": "floor", "app": "floor_sql", "fastapi": "floor_fastapi"}[shape]
        server = self._spawn(name, argv, env, port)
        self._wait_ready(server, "/", started)
        return server

    def db_sessions(self) -> int:
        """Connections ever opened to the database (pg_stat_database.sessions; approximate: a
        backend reports its own with its next stats flush)."""
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
            ).fetchone()
        return int(row[0]) if row else 0

    def wrk(
        self, port: int, path: str, seconds: float, subdomain: str, token: str
    ) -> dict[str, Any]:
        return run_wrk(
            f"http://127.0.0.1:{port}{path}",
            script="wrk_report.lua",
            seconds=seconds,
            threads=self.args.threads,
            connections=self.args.connections,
            env={"BENCH_TENANT": subdomain, "BENCH_TOKEN": token},
        )

    def measure(
        self, server: Server, postmaster: int, path: str, subdomain: str, token: str
    ) -> dict[str, Any]:
        self.wrk(server.port, path, self.args.warmup, subdomain, token)
        self.gc_stats(server)  # restart the GC counters (with --app-variant)
        load1 = os.getloadavg()[0]
        sessions0 = self.db_sessions()
        pg0 = {p: cpu_seconds(p) or 0.0 for p in tree(postmaster)}
        server0, busy0 = cpu_seconds(server.pid) or 0.0, machine_busy()
        kids0, sys0 = children_cpu_seconds(), sys_cpu_seconds(server.pid)
        result = self.wrk(server.port, path, self.args.duration, subdomain, token)
        server1, busy1 = cpu_seconds(server.pid) or 0.0, machine_busy()
        kids1, sys1 = children_cpu_seconds(), sys_cpu_seconds(server.pid)
        pg1 = {p: cpu_seconds(p) or 0.0 for p in tree(postmaster)}
        sessions1 = self.db_sessions()
        gc_stats = self.gc_stats(server)
        wall = result["duration_s"]
        requests = max(result["requests"], 1)
        server_cpu = server1 - server0
        pg_cpu = sum(v - pg0.get(p, 0.0) for p, v in pg1.items())
        wrk_cpu = kids1 - kids0
        busy = (busy1[0] - busy0[0]) / wall
        errors = result["errors"]
        return {
            "rps": round(result["rps"], 1),
            "requests": result["requests"],
            "p50_ms": result["latency_ms"]["p50"],
            "p90_ms": result["latency_ms"]["p90"],
            "p95_ms": result["latency_ms"]["p95"],
            "p99_ms": result["latency_ms"]["p99"],
            "max_ms": result["latency_ms"]["max"],
            "non_2xx": errors["status"],
            "socket_errors": sum(errors[k] for k in ("connect", "read", "write", "timeout")),
            "server_cpu_us_per_req": round(server_cpu / requests * 1e6, 1),
            "server_cpu_cores": round(server_cpu / wall, 2),
            "server_cpu_sys_share": round((sys1 - sys0) / server_cpu, 2) if server_cpu else None,
            "postgres_cpu_us_per_req": round(pg_cpu / requests * 1e6, 1),
            "wrk_cpu_cores": round(wrk_cpu / wall, 2),
            "machine_busy_cores": round(busy, 2),
            "foreign_cpu_cores": round(max(busy - (server_cpu + pg_cpu + wrk_cpu) / wall, 0.0), 2),
            "load1_before": round(load1, 2),
            "db_sessions_opened": sessions1 - sessions0 - 1,  # minus our own probe
            **(
                {
                    "gc": gc_stats,
                    "gc_pause_share_of_wall": round(
                        sum(gc_stats[f"gen{g}"]["total_ms"] for g in range(3)) / (wall * 1000), 3
                    ),
                }
                if gc_stats
                else {}
            ),
        }

    @staticmethod
    def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
        keys = (
            "rps",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "server_cpu_us_per_req",
            "postgres_cpu_us_per_req",
            "foreign_cpu_cores",
        )
        summary: dict[str, Any] = {key: median([r[key] for r in runs]) for key in keys}
        summary["non_2xx"] = sum(r["non_2xx"] for r in runs)
        summary["socket_errors"] = sum(r["socket_errors"] for r in runs)
        summary["runs"] = runs
        return summary

    # ---- optional profile -----------------------------------------------------------------------

    def profile(
        self,
        app: Server,
        postmaster: int,
        targets: dict[str, tuple[Server, str]],
        account: dict[str, str],
    ) -> dict[str, Any]:
        """py-spy (200 Hz, --gil: samples only while Python runs, so time blocked in a socket
        write or preempted by postgres does not count) on the app while wrk drives each endpoint."""
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(py_spy).exists():
            return {"error": "py-spy not installed (pip install py-spy)"}
        token = self.login(app.port, account)
        out: dict[str, Any] = {}
        for name in ("me", "user_read"):
            raw = self.base / f"profile-{name}.txt"
            seconds = self.args.duration
            spy = subprocess.Popen(
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(app.pid),
                    "--duration",
                    str(seconds + 1),
                    "--rate",
                    "200",
                    "--gil",
                    "--format",
                    "raw",
                    "--output",
                    str(raw),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                time.sleep(0.5)
                log(f"profile {name}: py-spy + wrk {seconds}s")
                self.wrk(app.port, targets[name][1], seconds, account["subdomain"], token)
                _, err = spy.communicate(timeout=seconds + 30)
            finally:
                if spy.poll() is None:
                    spy.kill()
                    spy.wait()
            if not raw.exists():
                out[name] = {"error": err.decode(errors="replace")[-500:]}
                continue
            out[name] = summarize_collapsed(raw.read_text())
            if self.args.profile_dir:
                Path(self.args.profile_dir).mkdir(parents=True, exist_ok=True)
                shutil.copy(raw, Path(self.args.profile_dir) / raw.name)
        return out


def run_wrk(
    url: str,
    *,
    script: str,
    seconds: float,
    threads: int,
    connections: int,
    env: dict[str, str],
) -> dict[str, Any]:
    """wrk against `url` with a Lua `script` of bench/ (given `env`) that prints one
    `WRK_JSON {...}` line: that object."""
    argv = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH_DIR / script),
        url,
    ]
    done = subprocess.run(
        argv,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return dict(json.loads(line[len("WRK_JSON ") :]))
    raise RuntimeError(f"wrk gave no result (rc {done.returncode}): {done.stdout} {done.stderr}")


def machine(phase: str) -> dict[str, Any]:
    load = os.getloadavg()
    return {f"loadavg_{phase}": [round(v, 2) for v in load]}


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for module in (
        "fastapi",
        "starlette",
        "uvicorn",
        "sqlalchemy",
        "psycopg",
        "pydantic",
        "uvloop",
        "httptools",
    ):
        with contextlib.suppress(Exception):
            versions[module] = __import__(module).__version__
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "mem_total_mb": status_kb_meminfo("MemTotal") // 1024,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": (wrk.stdout or wrk.stderr).split("Copyright")[0].strip(),
        "versions": versions,
        "git_commit": commit,
        **machine("start"),
    }


def status_kb_meminfo(key: str) -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _raise_exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def exits_cleanly() -> Iterator[None]:
    """SIGTERM/SIGHUP unwind like Ctrl-C does, so the cleanup in `finally` always runs."""
    previous: dict[signal.Signals, Callable[..., Any] | int | None] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, _raise_exit)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_reported(bench: Bench, report: dict[str, Any], run: Callable[[], None]) -> int:
    """`run()` (which fills `report`), then the cleanup, however it ends (a failure is reported,
    not raised); prints the report and returns the exit code."""
    code = 0
    with exits_cleanly():
        try:
            run()
        except BaseException as exc:  # report, then clean up
            report["error"] = f"{type(exc).__name__}: {exc}"
            code = 1
        finally:
            bench.cleanup()
    report["machine"].update(machine("end"))
    print(json.dumps(report, indent=2))
    return code


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured wrk run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of wrk before each run")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (medians are quoted)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--floor-pool",
        type=int,
        default=10,
        help="floor's connections (the app's pool_size default is 10)",
    )
    parser.add_argument(
        "--log-level",
        default=None,
        help="TYNEBASE_LOG_LEVEL for the app under load (default: the app's INFO)",
    )
    parser.add_argument("--startup-reps", type=int, default=3)
    parser.add_argument("--idle-s", type=float, default=5.0, help="idle seconds before reading RSS")
    parser.add_argument("--start-timeout", type=float, default=120.0)
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument(
        "--app-env",
        action="append",
        metavar="NAME=VALUE",
        help="extra environment for the app under load, e.g. TYNEBASE_DB_POOL_SIZE=64 "
        "(repeatable; reported in config)",
    )
    parser.add_argument(
        "--app-variant",
        choices=("gcstats", "gcfreeze"),
        default=None,
        help="serve the app through bench/serve_variant.py (GC diagnostics)",
    )
    parser.add_argument(
        "--decompose",
        action="store_true",
        help="also run the floor with the app's own statements (--shape app)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the measured runs, sample the app with py-spy under load",
    )
    parser.add_argument("--profile-dir", default=None, help="keep py-spy's raw stacks here")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp dir (logs) for debugging"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None and not args.skip_api:
        print(json.dumps({"error": "wrk not found: apt-get install -y wrk"}))
        return 2
    report: dict[str, Any] = {"machine": machine_info()}
    bench = Bench(args)
    log(f"temp dir {bench.base}")

    def run() -> None:
        if not args.skip_startup:
            report["startup"] = bench.startup()
        if not args.skip_api:
            report["api"] = bench.api()

    return run_reported(bench, report, run)


if __name__ == "__main__":
    sys.exit(main())
