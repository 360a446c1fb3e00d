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
    .venv/bin/python bench/retrieval/eval.py --data-dir /tmp/tbeval   # keep the corpus for reruns
    # a subset, for slow embedders: questions answered by pages <= 150 KB, plus distractors
    .venv/bin/python bench/retrieval/eval.py --embedders wordllama minilm --max-page-kb 150

Goal: hybrid nDCG@10 >= 1.15 x keyword nDCG@10.
"""

from __future__ import annotations

import argparse
import json
import math
import random
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
    login,
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


def subset(
    questions: list[dict[str, Any]], max_page_kb: int | None
) -> tuple[list[dict[str, Any]], list[Path]]:
    """The questions and pages to use: all of them, or (for slow embedders) the questions whose
    pages are all at most `max_page_kb`, their pages and as many other pages of that size at
    random (distractors)."""
    pages = sorted(CORPUS.glob("*.html"))
    if max_page_kb is None:
        return questions, pages
    small = {p.name for p in pages if p.stat().st_size <= max_page_kb * 1000}
    chosen = [q for q in questions if set(q["relevant"]) <= small]
    relevant = {name for q in chosen for name in q["relevant"]}
    answering = {name for q in questions for name in q["relevant"]}
    others = sorted(small - answering)
    distractors = random.Random(11).sample(others, min(len(others), len(relevant)))
    return chosen, [p for p in pages if p.name in relevant or p.name in distractors]


def import_corpus(
    client: Any, headers: dict[str, str], settings: Any, urls: Any, pages: list[Path]
) -> dict[str, str]:
    """Upload the pages; returns document id -> file name."""
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


def evaluate(
    client: Any, headers: dict[str, str], names: dict[str, str], questions: list[dict[str, Any]]
) -> dict[str, Any]:
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
    parser.add_argument(
        "--data-dir", type=Path, help="keep the imported corpus here and reuse it on later runs"
    )
    parser.add_argument(
        "--max-page-kb",
        type=int,
        help="a subset: the questions answered by pages of at most this size, those pages and "
        "as many others as distractors (to compare slow embedders in reasonable time)",
    )
    args = parser.parse_args()
    if not CORPUS.exists():
        sys.exit(f"{CORPUS} is missing: apt-get install python3.11-doc")
    questions, pages = subset(json.loads(QUESTIONS.read_text())["questions"], args.max_page_kb)
    result: dict[str, Any] = {"corpus": str(CORPUS), "embedders": {}}
    if args.max_page_kb is not None:
        result["subset"] = {
            "max_page_kb": args.max_page_kb,
            "questions": len(questions),
            "pages": len(pages),
        }
    marker = args.data_dir / "eval-corpus.json" if args.data_dir else None
    stored = json.loads(marker.read_text()) if marker and marker.exists() else None
    if stored is not None and stored.get("max_page_kb") != args.max_page_kb:
        sys.exit(f"{args.data_dir} holds another subset of the corpus: use another --data-dir")
    if args.data_dir is not None and stored is None and (args.data_dir / "pg").exists():
        sys.exit(f"{args.data_dir} holds an incomplete corpus: remove it")
    with embedded_database(args.data_dir) as (base, owner):
        first = make_settings(base, owner, rag_embedder=args.embedders[0])
        urls = urls_of(first, owner)
        if stored is None:
            with app_client(first, urls) as client:
                account = signup(client, owner)
                started = time.perf_counter()
                names = import_corpus(client, headers_of(account), first, urls, pages)
                stored = {
                    "max_page_kb": args.max_page_kb,
                    "account": {k: v for k, v in account.items() if k != "Authorization"},
                    "names": names,
                    "import_and_index_seconds": round(time.perf_counter() - started, 1),
                    "embedder": args.embedders[0],
                }
            if marker is not None:
                marker.write_text(json.dumps(stored))
        names = stored["names"]
        result["documents"] = len(names)
        result["import_and_index_seconds"] = stored["import_and_index_seconds"]
        indexed_with = stored["embedder"]
        for name in args.embedders:
            settings = make_settings(base, owner, rag_embedder=name)
            with app_client(settings, urls) as client:
                headers = headers_of(login(client, stored["account"]))
                if name != indexed_with:
                    response = client.post("/api/rag/reindex", headers=headers, json={})
                    assert response.status_code == 202, response.text
                    run_worker(settings, urls)  # queues one job per document
                    seconds = run_worker(settings, urls)
                    log(f"{name}: reindexed in {seconds:.1f}s")
                    indexed_with = name
                counts = client.get("/api/rag/sources", headers=headers).json()["counts"]
                scores = evaluate(client, headers, names, questions)
                keyword = scores["keyword"]["ndcg@10"]
                scores["hybrid_vs_keyword_ndcg10"] = round(
                    scores["hybrid"]["ndcg@10"] / keyword if keyword else float("inf"), 3
                )
                scores["source_states"] = counts
                result["embedders"][name] = scores
                log(name, scores)
        if marker is not None and indexed_with != stored["embedder"]:
            marker.write_text(json.dumps({**stored, "embedder": indexed_with}))
    default = result["embedders"][args.embedders[0]]
    result["figure"] = default["hybrid"]["ndcg@10"]
    result["peer"] = default["keyword"]["ndcg@10"]
    result["ratio"] = default["hybrid_vs_keyword_ndcg10"]
    result["goal_ratio_min"] = GOAL_RATIO
    result["goal_met"] = result["ratio"] >= GOAL_RATIO
    emit(result)


if __name__ == "__main__":
    main()
