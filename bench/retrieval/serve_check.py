#!/usr/bin/env python3
"""End to end on a real `tynebase serve` (embedded PostgreSQL, in-process worker): how long a
published edit takes to become findable by hybrid search, and the server's memory with the
default embedder loaded. Prints ONE JSON document.

    .venv/bin/python bench/retrieval/serve_check.py [--edits 5]

Goals: edit searchable within 5 s; server RSS <= 800 MB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from serve import login, serving
from upload_rss import status_kb

GOAL_SECONDS, GOAL_RSS_MB = 5.0, 800


def wait_found(client: httpx.Client, word: str, document_id: str, deadline: float) -> float:
    """Until the index holds the document's current version (source health) and a semantic
    search (vectors only: keyword search reads the document row, updated at once) returns the
    chunk with `word`."""
    while time.monotonic() < deadline:
        current = client.get(f"/api/documents/{document_id}").json()["current_version"]
        items = client.get("/api/rag/sources", params={"state": "ok"}).json()["items"]
        indexed = any(
            i["document_id"] == document_id and i["indexed_version"] == current for i in items
        )
        if indexed:
            hits = client.get(
                "/api/search", params={"q": f"taxi code {word}", "mode": "semantic", "limit": 50}
            ).json()["items"]
            if any(h["id"] == document_id and word in h["snippet"]["text"] for h in hits):
                return time.monotonic()
        time.sleep(0.05)
    raise SystemExit(f"{word} not searchable in time")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=5)
    args = parser.parse_args()
    with serving("tbsv", {}, stop_timeout=60) as server:
        headers = login(server.base)
        seconds: list[float] = []
        with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
            body = "# Travel\n\nBook trains through the travel desk two weeks ahead.\n"
            doc = client.post("/api/documents", json={"title": "Travel policy", "body": body})
            doc.raise_for_status()
            document_id = doc.json()["id"]
            client.post(f"/api/documents/{document_id}/publish").raise_for_status()
            wait_found(client, "trains", document_id, time.monotonic() + 30)
            for _ in range(args.edits):
                word = f"zq{uuid.uuid4().hex[:8]}"
                body += f"\n## Taxi code {word}\n\nAirport taxis need the code {word}.\n"
                client.patch(
                    f"/api/documents/{document_id}", json={"body": body}
                ).raise_for_status()
                published = client.post(f"/api/documents/{document_id}/publish")
                published.raise_for_status()
                start = time.monotonic()
                seconds.append(wait_found(client, word, document_id, start + 30) - start)
        rss_mb = status_kb(server.proc.pid, "VmRSS") / 1024
        peak_mb = status_kb(server.proc.pid, "VmHWM") / 1024
        result = {
            "edit_to_searchable_s": {
                "median": round(statistics.median(seconds), 3),
                "max": round(max(seconds), 3),
                "runs": [round(s, 3) for s in seconds],
                "goal_max": GOAL_SECONDS,
            },
            "serve_rss_mb": round(rss_mb, 1),
            "serve_peak_rss_mb": round(peak_mb, 1),
            "goal_rss_mb": GOAL_RSS_MB,
            "goal_met": max(seconds) <= GOAL_SECONDS and peak_mb <= GOAL_RSS_MB,
        }
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
