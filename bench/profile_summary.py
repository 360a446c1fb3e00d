"""Summarize py-spy `--format raw` output (collapsed stacks: `frame;frame;... count`).

Shares are of the sampled on-CPU time of the server's Python thread (py-spy leaves idle samples
out unless --idle). Frames look like `function (path/to/file.py:line)`; line numbers are dropped
so a function counts once per stack.

    python bench/profile_summary.py profile-me.txt   # prints JSON
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from typing import Any

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")

# Package of a file path, most specific first.
_PACKAGES = (
    ("tynebase/", "tynebase"),
    ("sqlalchemy/", "sqlalchemy"),
    ("psycopg/", "psycopg"),
    ("psycopg_binary/", "psycopg"),
    ("fastapi/", "fastapi"),
    ("starlette/", "starlette"),
    ("pydantic_core/", "pydantic"),
    ("pydantic/", "pydantic"),
    ("uvicorn/", "uvicorn"),
    ("limits/", "limits"),
    ("prometheus_client/", "prometheus_client"),
    ("jwt/", "pyjwt"),
    ("orjson", "orjson"),
    ("anyio/", "anyio"),
    ("logging/", "stdlib logging"),
    ("asyncio/", "stdlib asyncio"),
    ("uvloop", "uvloop"),
    ("httptools", "httptools"),
)


def package_of(path: str) -> str:
    for needle, name in _PACKAGES:
        if needle in path:
            return name
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    # py-spy prints stdlib paths relative (`json/decoder.py`, `<frozen os>`, `<string>`).
    return "stdlib other" if "/lib/python3" in path or not path.startswith("/") else "other"


# Exclusive buckets for the report: a sample goes to the first bucket any of its frames matches
# (most specific first), so the shares add up to 100.
_BUCKETS: tuple[tuple[str, Any], ...] = (
    (
        "auth: JWT parse + verify (auth/signing.py KeyRing.verify, kid_of)",
        lambda fs: any(f[0] in ("KeyRing.verify", "KeyRing.kid_of") for f in fs),
    ),
    (
        "sql: tenant + set_config (tenants/repo.py get_and_enter)",
        lambda fs: any(f[0] == "get_and_enter" for f in fs),
    ),
    (
        "sql: principal (auth/repo.py session_principal_row)",
        lambda fs: any(f[0] == "session_principal_row" for f in fs),
    ),
    (
        "sql: member row (users/repo.py get_member)",
        lambda fs: any(f[0] == "get_member" and "repo" in f[1] for f in fs),
    ),
    (
        "sql: BEGIN/COMMIT + pool (db/engine.py unit_of_work)",
        lambda fs: any(f[0] == "Database.unit_of_work" for f in fs),
    ),
    (
        "sql: SQLAlchemy/psycopg in a greenlet (caller not visible)",
        lambda fs: (
            not any(f[0] == "Runner.run" for f in fs)
            and any(package_of(f[1]) in ("sqlalchemy", "psycopg") for f in fs)
        ),
    ),
    (
        "middleware: rate limiter (api/ratelimit.py RateLimiter.hit)",
        lambda fs: any(f[0] == "RateLimiter.hit" for f in fs),
    ),
    (
        "middleware: request log line (INFO, logging.py JsonFormatter)",
        lambda fs: (
            any(f[0] == "RequestMiddleware._observe" for f in fs)
            and any(package_of(f[1]) == "stdlib logging" or "tynebase/logging" in f[1] for f in fs)
        ),
    ),
    (
        "middleware: metrics (middleware.py _observe, prometheus)",
        lambda fs: any(f[0] == "RequestMiddleware._observe" for f in fs),
    ),
    (
        "middleware: other (request id, headers, send_with_headers)",
        lambda fs: any("tynebase/api/middleware" in f[1] for f in fs[-3:]),
    ),
    (
        "endpoint + response model/serialization",
        lambda fs: any(
            f[0]
            in (
                "me",
                "get_member",
                "serialize_response",
                "_serialize_response",
                "jsonable_encoder",
                "_prepare_response_content",
            )
            for f in fs
        ),
    ),
    (
        "fastapi/starlette: routing, dependencies, request/response objects",
        lambda fs: any(package_of(f[1]) in ("fastapi", "starlette") for f in fs),
    ),
    (
        "uvicorn/httptools: HTTP parsing and socket writes",
        lambda fs: any(package_of(f[1]) in ("uvicorn", "httptools") for f in fs),
    ),
    ("event loop + other", lambda fs: True),
)


def bucket_of(frames: list[tuple[str, str, str | None]]) -> str:
    for label, matches in _BUCKETS:
        if matches(frames):
            return str(label)
    return "event loop + other"


def short(path: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3.11/", "/lib/python3.12/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def parse_frame(frame: str) -> tuple[str, str, str | None]:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip(), "", None
    return match["func"], match["file"], match["line"]


# Leaf frames of a thread that is waiting, not working (py-spy's blocking mode can report them).
_IDLE_LEAVES = frozenset(
    {
        ("Condition.wait", "threading.py"),
        ("Event.wait", "threading.py"),
        ("Queue.get", "queue.py"),
        ("wait", "threading.py"),
        ("select", "selectors.py"),
        ("EpollSelector.select", "selectors.py"),
    }
)


def is_idle(frames: list[tuple[str, str, str | None]]) -> bool:
    func, path, _ = frames[-1]
    return (func, path.rsplit("/", 1)[-1]) in _IDLE_LEAVES


def summarize_collapsed(text: str, top: int = 25) -> dict[str, Any]:
    total = idle = detached = 0
    self_pkg: Counter[str] = Counter()
    self_func: Counter[str] = Counter()
    incl_func: Counter[str] = Counter()
    incl_pkg: Counter[str] = Counter()
    incl_line: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    for raw in text.splitlines():
        stack, _, count_text = raw.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [parse_frame(f) for f in stack.split(";")]
        # The first frame is often the process/thread label: keep only real code frames.
        frames = [f for f in frames if f[1]]
        if not frames:
            continue
        if is_idle(frames):
            idle += count
            continue
        total += count
        if not any(f[0] == "Runner.run" for f in frames):
            detached += count
        buckets[bucket_of(frames)] += count
        func, path, _ = frames[-1]
        self_pkg[package_of(path)] += count
        self_func[f"{func} ({short(path)})"] += count
        seen: set[str] = set()
        seen_pkg: set[str] = set()
        seen_line: set[str] = set()
        for func, path, line in frames:
            key = f"{func} ({short(path)})"
            if key not in seen:
                seen.add(key)
                incl_func[key] += count
            pkg = package_of(path)
            if pkg not in seen_pkg:
                seen_pkg.add(pkg)
                incl_pkg[pkg] += count
            if "tynebase/" in path and line:
                line_key = f"{short(path)}:{line} {func}"
                if line_key not in seen_line:
                    seen_line.add(line_key)
                    incl_line[line_key] += count

    def shares(counter: Counter[str], n: int = top) -> dict[str, float]:
        return {k: round(100 * v / total, 1) for k, v in counter.most_common(n)} if total else {}

    tynebase_funcs = Counter({k: v for k, v in incl_func.items() if "tynebase/" in k})
    return {
        "samples": total,
        "idle_samples_dropped": idle,
        "unit": "% of on-CPU samples of the server process",
        # SQLAlchemy runs its sync core in greenlets; py-spy shows those stacks without the
        # async caller above them (they still count in the package and function shares).
        "greenlet_detached_pct": round(100 * detached / total, 1) if total else 0.0,
        "buckets": shares(buckets, len(_BUCKETS)),
        "self_by_package": shares(self_pkg),
        "inclusive_by_package": shares(incl_pkg),
        "self_top_functions": shares(self_func),
        "inclusive_tynebase_functions": shares(tynebase_funcs),
        "inclusive_tynebase_lines": shares(incl_line),
        "inclusive_top_functions": shares(incl_func, 40),
    }


if __name__ == "__main__":
    with open(sys.argv[1]) as handle:
        print(json.dumps(summarize_collapsed(handle.read()), indent=2))
