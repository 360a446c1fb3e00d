"""Server memory during a 100 MB upload (FILE-1: streaming uploads, constant memory).

Starts `tynebase serve` (embedded PostgreSQL) in a temporary data directory, signs up, warms the
upload path with a few small uploads, then streams a 100 MB file (an MP4 header + padding: a
video, whose limit is 500 MB) to POST /api/files, once as the raw body and once as
multipart/form-data, both chunked from a generator (the client never holds the file either).
For each it resets the server's peak-RSS counter (/proc/PID/clear_refs), and reads VmHWM after
the upload; a 5 ms sampler of VmRSS backs it up where clear_refs is not allowed.

    .venv/bin/python bench/upload_rss.py [--mb 100]

Prints JSON: {upload_mb, rss_before_mb, rss_peak_mb, delta_mb, goal_mb: 20, runs: [...]};
the top-level figures are the worse of the two runs.
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from serve import login, serving

GOAL_MB = 20
CHUNK = 256 * 1024


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    except OSError:
        return False
    return True


def video_body(size: int) -> Iterator[bytes]:
    header = struct.pack(">I", 24) + b"ftypisom\x00\x00\x02\x00isomiso2"
    yield header
    left = size - len(header)
    block = os.urandom(CHUNK)  # incompressible, reused: the client stays small too
    while left > 0:
        piece = block[: min(CHUNK, left)]
        left -= len(piece)
        yield piece


def multipart_body(size: int, boundary: str) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="talk.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    yield from video_body(size)
    yield f"\r\n--{boundary}--\r\n".encode()


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.running = pid, 0, True

    def run(self) -> None:
        while self.running:
            self.peak_kb = max(self.peak_kb, status_kb(self.pid, "VmRSS"))
            time.sleep(0.005)


def measure(pid: int, send: Any, size: int) -> dict[str, Any]:
    before_kb = status_kb(pid, "VmRSS")
    exact = reset_peak(pid)
    sampler = Sampler(pid)
    sampler.start()
    started = time.perf_counter()
    response = send()
    seconds = time.perf_counter() - started
    sampler.running = False
    sampler.join()
    peak_kb = max(sampler.peak_kb, status_kb(pid, "VmHWM") if exact else 0)
    if response.status_code != 201:
        raise SystemExit(f"upload failed: {response.status_code} {response.text}")
    return {
        "rss_before_mb": round(before_kb / 1024, 1),
        "rss_peak_mb": round(peak_kb / 1024, 1),
        "delta_mb": round((peak_kb - before_kb) / 1024, 1),
        "seconds": round(seconds, 2),
        "throughput_mb_s": round(size / 2**20 / seconds, 1),
        "peak_from": "VmHWM" if exact else "5 ms VmRSS samples",
        "stored_bytes": response.json()["size_bytes"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args()
    size = args.mb * 2**20
    with serving("tbup", {"TYNEBASE_RUN_WORKER_IN_PROCESS": "false"}, stop_timeout=30) as server:
        headers = login(server.base)
        with httpx.Client(base_url=server.base, headers=headers, timeout=300) as client:

            def raw() -> httpx.Response:
                return client.post(
                    "/api/files",
                    params={"filename": "talk.mp4"},
                    content=video_body(size),
                    headers={"Content-Type": "application/octet-stream"},
                )

            def multipart() -> httpx.Response:
                boundary = uuid.uuid4().hex
                return client.post(
                    "/api/files",
                    content=multipart_body(size, boundary),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
                )

            # Warm up: imports, thread pool, connection pool, allocator arenas.
            for _ in range(3):
                warm = client.post(
                    "/api/files",
                    params={"filename": "warm.mp4"},
                    content=video_body(4 * 2**20),
                    headers={"Content-Type": "application/octet-stream"},
                )
                warm.raise_for_status()
            runs = [
                {"shape": "raw", **measure(server.proc.pid, raw, size)},
                {"shape": "multipart", **measure(server.proc.pid, multipart, size)},
            ]
    worst = max(runs, key=lambda run: run["delta_mb"])
    print(
        json.dumps(
            {
                "upload_mb": args.mb,
                "rss_before_mb": worst["rss_before_mb"],
                "rss_peak_mb": worst["rss_peak_mb"],
                "delta_mb": worst["delta_mb"],
                "goal_mb": GOAL_MB,
                "ratio_to_goal": round(worst["delta_mb"] / GOAL_MB, 2),
                "runs": runs,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
