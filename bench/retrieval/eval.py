#!/usr/bin/env python3
"""Retrieval evaluation (RAG-3): recall@5, nDCG@10 and MRR of keyword, semantic and hybrid
search on a real public corpus, imported through the product. Prints ONE JSON document.

Corpus: the Python 3.11 library reference as HTML (Debian package python3.11-doc,
/usr/share/doc/python3.11/html/library/*.html, ~310 pages), each page uploaded to
POST /api/imports (HTML -> Markdown document, a job), indexed by the worker, then queried with
GET /api/search?mode=... as the workspace admin. Questions and their correct pages:
bench/retrieval/data/questions.json (116 questions, written for this corpus; most do not name
the module they are about, as a person asking would not know it).

    apt-get install python3.11-doc           # once (bench/retrieval/setup.sh does it)
    .venv/bin/python bench/retrieval/eval.py                          # default embedder
    .venv/bin/python bench/retrieval/eval.py --embedders wordllama minilm   # the comparison

Goal: hybrid nDCG@10 >= 1.15 x keyword nDCG@10.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    app_client,
    embedded_database,
    emit,
    headers_of,
    log,
    make_settings,
    run_worker,
    signup,
    urls_of,
)

CORPUS = Path("/usr/share/doc/python3.11/html/library")
QUESTIONS = Path(__file__).resolve().parent / "data" / "questions.json"
MODES = ("keyword", "semantic", "hybrid")
GOAL_RATIO = 1.15


def dcg(relevances: list[int]) -> float:
    return sum(rel / math.log2(i + 2) for i, rel in enumerate(relevances))


def metrics(ranked: list[str], relevant: set[str]) -> dict[str, float]:
    hits = [1 if name in relevant else 0 for name in ranked]
    ideal = dcg([1] * min(len(relevant), 10))
    first = next((i for i, hit in enumerate(hits) if hit), None)
    return {
        "recall@5": sum(hits[:5]) / len(relevant),
        "ndcg@10": dcg(hits[:10]) / ideal if ideal else 0.0,
        "mrr": 1.0 / (first + 1) if first is not None else 0.0,
    }


def import_corpus(client: Any, headers: dict[str, str], settings: Any, urls: Any) -> dict[str, str]:
    """Upload every page; returns document id -> file name."""
    pages = sorted(CORPUS.glob("*.html"))
    jobs: dict[str, str] = {}
    for page in pages:
        response = client.post(
            "/api/imports",
            headers=headers,
            files={"file": (page.name, page.read_bytes(), "text/html")},
        )
        assert response.status_code == 202, response.text
        jobs[response.json()["job_id"]] = page.name
    log(f"queued {len(jobs)} imports; running the worker")
    seconds = run_worker(settings, urls)
    log(f"imported and indexed in {seconds:.1f}s")
    names: dict[str, str] = {}
    for job_id, name in jobs.items():
        job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if job["status"] == "succeeded":
            names[job["result"]["document_id"]] = name
        else:
            log(f"import of {name} failed: {job.get('error')}")
    return names


def evaluate(client: Any, headers: dict[str, str], names: dict[str, str]) -> dict[str, Any]:
    questions = __import__("json").loads(QUESTIONS.read_text())["questions"]
    out: dict[str, Any] = {}
    for mode in MODES:
        per_question = []
        latencies = []
        for q in questions:
            started = time.perf_counter()
            response = client.get(
                "/api/search",
                headers=headers,
                params={"q": q["question"], "mode": mode, "limit": 10},
            )
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
            ranked = [names.get(item["id"], "?") for item in response.json()["items"]]
            per_question.append(metrics(ranked, set(q["relevant"])))
        out[mode] = {
            key: round(statistics.fmean(m[key] for m in per_question), 4)
            for key in ("recall@5", "ndcg@10", "mrr")
        }
        out[mode]["median_ms"] = round(statistics.median(latencies), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedders", nargs="+", default=["wordllama"])
    args = parser.parse_args()
    if not CORPUS.exists():
        sys.exit(f"{CORPUS} is missing: apt-get install python3.11-doc")
    result: dict[str, Any] = {"corpus": str(CORPUS), "embedders": {}}
    with embedded_database() as (base, owner):
        first = make_settings(base, owner, rag_embedder=args.embedders[0])
        urls = urls_of(first, owner)
        with app_client(first, urls) as client:
            account = signup(client, owner)
            headers = headers_of(account)
            started = time.perf_counter()
            names = import_corpus(client, headers, first, urls)
            result["documents"] = len(names)
            result["import_and_index_seconds"] = round(time.perf_counter() - started, 1)
        for name in args.embedders:
            settings = make_settings(base, owner, rag_embedder=name)
            with app_client(settings, urls) as client:
                if name != args.embedders[0]:
                    response = client.post("/api/rag/reindex", headers=headers, json={})
                    assert response.status_code == 202, response.text
                    run_worker(settings, urls)  # queues one job per document
                    seconds = run_worker(settings, urls)
                    log(f"{name}: reindexed in {seconds:.1f}s")
                counts = client.get("/api/rag/sources", headers=headers).json()["counts"]
                scores = evaluate(client, headers, names)
                keyword = scores["keyword"]["ndcg@10"]
                scores["hybrid_vs_keyword_ndcg10"] = round(
                    scores["hybrid"]["ndcg@10"] / keyword if keyword else float("inf"), 3
                )
                scores["source_states"] = counts
                result["embedders"][name] = scores
                log(name, scores)
    default = result["embedders"][args.embedders[0]]
    result["figure"] = default["hybrid"]["ndcg@10"]
    result["peer"] = default["keyword"]["ndcg@10"]
    result["ratio"] = default["hybrid_vs_keyword_ndcg10"]
    result["goal_ratio_min"] = GOAL_RATIO
    result["goal_met"] = result["ratio"] >= GOAL_RATIO
    emit(result)


if __name__ == "__main__":
    main()
