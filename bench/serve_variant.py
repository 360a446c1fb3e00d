"""`tynebase serve`, unchanged, plus one diagnostic hook (bench/api.py --app-variant).

    python bench/serve_variant.py gcstats    # time every garbage collection (gc.callbacks)
    python bench/serve_variant.py gcfreeze   # gc.collect(); gc.freeze() before serving, + gcstats

The hook runs just before uvicorn starts serving (after settings, embedded postgres, migrations
and create_app), by wrapping `uvicorn.run` as `tynebase.cli.serve` calls it. On SIGUSR1 the GC
figures since the last SIGUSR1 are written as JSON to $BENCH_GC_STATS (with a `seq` number) and
the counters restart; bench/api.py sends one before and one after each measured run. Nothing in
src/ is changed.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import sys
import time
from typing import Any

import uvicorn

MODES = ("gcstats", "gcfreeze")


class GcTimer:
    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self._started)

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for generation, pauses in self.pauses.items():
            ordered = sorted(pauses)
            out[f"gen{generation}"] = {
                "collections": len(pauses),
                "total_ms": round(sum(pauses) * 1000, 1),
                "max_ms": round(ordered[-1] * 1000, 2) if ordered else 0.0,
                "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3) if ordered else 0.0,
            }
        out["tracked_objects_at_exit"] = len(gc.get_objects())
        out["frozen_objects"] = gc.get_freeze_count()
        out["threshold"] = list(gc.get_threshold())
        return out


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode not in MODES:
        raise SystemExit(f"usage: serve_variant.py {{{','.join(MODES)}}}")
    timer = GcTimer()
    original_run = uvicorn.run

    def run(*args: Any, **kwargs: Any) -> None:
        if mode == "gcfreeze":
            gc.collect()
            gc.freeze()
        timer.pauses = {0: [], 1: [], 2: []}  # count only what happens while serving
        gc.callbacks.append(timer)
        original_run(*args, **kwargs)

    seq = 0

    def dump(_signum: int, _frame: Any) -> None:
        nonlocal seq
        seq += 1
        path = os.environ.get("BENCH_GC_STATS")
        if path:
            with open(path + ".tmp", "w") as handle:
                json.dump({"seq": seq, "mode": mode, **timer.report()}, handle)
            os.replace(path + ".tmp", path)
        timer.pauses = {0: [], 1: [], 2: []}

    signal.signal(signal.SIGUSR1, dump)
    uvicorn.run = run  # tynebase.cli.serve looks it up at call time
    from tynebase.cli.main import app

    sys.argv = ["tynebase", "serve"]
    app()


if __name__ == "__main__":
    main()
