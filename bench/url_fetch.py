#!/usr/bin/env python3
"""URL fetch benchmark: prints ONE JSON document on stdout (docs/PERFORMANCE.md, section
"Credits, generation and URL import").

The SSRF-safe fetcher (`tynebase.net.fetch.fetch_url`: URL checks, resolution, vetting of every
address, a fresh connection to the vetted address per hop, bounded body reading) against a loopback
HTTP server, compared with two floors in interleaved rounds: a bare `httpx` GET on a new client
per request with a prebuilt TLS context (what one hop inevitably costs: a new connection) and on
one shared keep-alive client. Pages of 20 KB and 1 MB.

Run: `.venv/bin/python bench/url_fetch.py [--rounds 200]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ssrf.server import loopback_server, page

from tynebase.net.addresses import parse_networks
from tynebase.net.fetch import FetchPolicy, fetch_url

TLS = httpx.create_ssl_context()  # built once, as the fetcher does
POLICY = FetchPolicy(
    max_bytes=8 * 1024 * 1024,
    total_seconds=30,
    idle_seconds=10,
    connect_seconds=5,
    max_redirects=5,
    allowed=parse_networks(["127.0.0.1/32"]),
)


def _ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


async def _measure(url: str, rounds: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {"fetcher": [], "new_client": [], "shared_client": []}
    async with httpx.AsyncClient(trust_env=False) as shared:
        for _ in range(rounds):
            start = time.perf_counter()
            await fetch_url(url, policy=POLICY)
            samples["fetcher"].append(time.perf_counter() - start)
            start = time.perf_counter()
            async with httpx.AsyncClient(trust_env=False, verify=TLS) as client:
                (await client.get(url)).raise_for_status()
            samples["new_client"].append(time.perf_counter() - start)
            start = time.perf_counter()
            (await shared.get(url)).raise_for_status()
            samples["shared_client"].append(time.perf_counter() - start)
    fetcher, floor = _ms(samples["fetcher"]), _ms(samples["new_client"])
    return {
        "fetcher_ms": fetcher,
        "floor_new_client_ms": floor,
        "floor_shared_client_ms": _ms(samples["shared_client"]),
        "ratio_to_new_client": round(fetcher / floor, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with loopback_server() as server:
        server.routes["/small"] = page(b"<p>" + b"x" * 20_000 + b"</p>")
        server.routes["/large"] = page(b"<p>" + b"x" * 1_000_000 + b"</p>")
        result = {
            "rounds": args.rounds,
            "page_20kb": asyncio.run(_measure(server.url("/small"), args.rounds)),
            "page_1mb": asyncio.run(_measure(server.url("/large"), max(20, args.rounds // 5))),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
