#!/usr/bin/env python3
"""Retrieval at scale: hybrid search latency with 100,000 chunks in one tenant (others
present), and indexing throughput of the default embedder. Prints ONE JSON document.

Data: prose sentences from the installed Python's docstrings (bench/search_data.py), cut into
~700-character chunks, 10 per published team document; the big tenant gets 100k chunks, three
others 20k each. Embeddings are computed with the default embedder (real vectors, so the HNSW
graph is realistic) and loaded in bulk (binary COPY into a scratch table, then one INSERT per
tenant with the tenant set, as RLS requires; the HNSW index is rebuilt after the load).

Measured through the real app in-process (HTTP stack, auth, RLS; no sockets), sequentially:
GET /api/search?mode=hybrid|semantic|keyword for 60 questions x 3 rounds as the big tenant's
admin, the modes' order rotating per question. Peer: keyword mode on the same data (what hybrid
adds to it).
Indexing: 150 new documents made through the API, then the worker: chunks per second, beside
the embedder's own throughput on the same texts (the floor of the pipeline).

    .venv/bin/python bench/retrieval/bench.py [--big 100000]
    # keep the data set for reruns (reused only with the same sizes); search latency only:
    .venv/bin/python bench/retrieval/bench.py --data-dir /tmp/tbretrieval --search-only

Goals: hybrid p95 <= 80 ms; indexing >= 100 chunks/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from common import (  # noqa: E402
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

from search_data import sentence_pool  # noqa: E402
from tynebase.db.engine import libpq_url  # noqa: E402
from tynebase.rag.chunking import chunk_document  # noqa: E402
from tynebase.rag.embedders import WordLlamaEmbedder, local_embedder  # noqa: E402

CHUNKS_PER_DOC = 10
CHUNK_CHARS = 700
GOALS = {"hybrid_p95_ms_max": 80.0, "index_chunks_per_s_min": 100.0}


def chunk_texts(pool: list[str], count: int, rng: random.Random) -> list[str]:
    out: list[str] = []
    while len(out) < count:
        at = rng.randrange(len(pool))
        text = ""
        while len(text) < CHUNK_CHARS and at < len(pool):
            text += pool[at] + " "
            at += 1
        out.append(text.strip())
    return out


def load_tenant(
    owner: str, tenant_id: str, user_id: str, texts: list[str], vectors: Any, embedder: Any
) -> None:
    docs = len(texts) // CHUNKS_PER_DOC
    doc_ids = [str(uuid.uuid4()) for _ in range(docs)]
    with psycopg.connect(libpq_url(owner)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        with conn.cursor() as cur:
            rows = []
            for n, doc_id in enumerate(doc_ids):
                part = texts[n * CHUNKS_PER_DOC : (n + 1) * CHUNKS_PER_DOC]
                title = " ".join(part[0].split()[:6])
                rows.append((doc_id, tenant_id, title, "\n\n".join(part), user_id))
            cur.executemany(
                "INSERT INTO documents (id, tenant_id, title, body, status, visibility, "
                "author_id, current_version) VALUES (%s, %s, %s, %s, 'published', 'team', %s, 1)",
                rows,
            )
        conn.execute(
            "CREATE TEMP TABLE load (document_id uuid, ordinal int, heading text, content text, "
            "embedding vector) ON COMMIT DROP"
        )
        with conn.cursor().copy(
            "COPY load (document_id, ordinal, heading, content, embedding) FROM STDIN"
        ) as copy:
            for i, text in enumerate(texts[: docs * CHUNKS_PER_DOC]):
                doc = i // CHUNKS_PER_DOC
                vector = "[" + ",".join(f"{x:.6f}" for x in vectors[i]) + "]"
                copy.write_row((doc_ids[doc], i % CHUNKS_PER_DOC, rows[doc][2], text, vector))
        conn.execute(
            "INSERT INTO rag_chunks (tenant_id, document_id, version_number, ordinal, heading, "
            "content, embedder, dims, embedding) SELECT %s, document_id, 1, ordinal, heading, "
            "content, %s, %s, embedding FROM load",
            (tenant_id, embedder.name, embedder.dimensions),
        )
        conn.execute(
            "INSERT INTO rag_sources (document_id, tenant_id, status, indexed_at, "
            "indexed_version, chunk_count) SELECT id, tenant_id, 'ok', now(), 1, %s "
            "FROM documents WHERE id = ANY(%s::uuid[])",
            (CHUNKS_PER_DOC, doc_ids),
        )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def build(
    client: Any, owner: str, args: argparse.Namespace, embedder: Any, pool: list[str]
) -> dict[str, Any]:
    """The data set: tenants, documents and chunks, the HNSW index built after the load."""
    rng = random.Random(5)
    big = signup(client, owner)
    others = [signup(client, owner) for _ in range(args.others)]
    with psycopg.connect(libpq_url(owner), autocommit=True) as conn:
        conn.execute("DROP INDEX ix_rag_chunks_embedding_256")
    total = 0
    for account, size in [(big, args.big)] + [(o, args.other_size) for o in others]:
        texts = chunk_texts(pool, size, rng)
        started = time.perf_counter()
        vectors = embedder.embed_sync([f"{t[:40]}\n\n{t}" for t in texts])
        log(f"embedded {size} in {time.perf_counter() - started:.1f}s")
        load_tenant(owner, account["tenant_id"], account["user_id"], texts, vectors, embedder)
        total += size
    started = time.perf_counter()
    with psycopg.connect(libpq_url(owner), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute(
            "CREATE INDEX ix_rag_chunks_embedding_256 ON rag_chunks USING hnsw "
            "((embedding::vector(256)) vector_cosine_ops) "
            "WITH (m = 16, ef_construction = 64) WHERE dims = 256"
        )
        conn.execute("VACUUM ANALYZE rag_chunks")
        conn.execute("VACUUM ANALYZE documents")
    hnsw_build_s = round(time.perf_counter() - started, 1)
    log(f"hnsw built in {hnsw_build_s}s")
    return {
        "big": {k: v for k, v in big.items() if k != "Authorization"},
        "chunks_total": total,
        "chunks_big_tenant": args.big,
        "hnsw_build_s": hnsw_build_s,
    }


def measure_indexing(
    client: Any, settings: Any, urls: Any, owner: str, pool: list[str], embedder: Any
) -> dict[str, Any]:
    """Documents created through the API in a fresh tenant, then the worker indexes them."""
    rng = random.Random(6)
    fresh = signup(client, owner)
    fresh_headers = headers_of(fresh)
    bodies = []
    for n in range(150):
        texts = chunk_texts(pool, 8, rng)
        body = "\n\n".join(f"## Part {i}\n\n{t}" for i, t in enumerate(texts))
        bodies.append(body)
        response = client.post(
            "/api/documents",
            headers=fresh_headers,
            json={"title": f"Handbook page {n}", "body": body},
        )
        assert response.status_code == 201, response.text
    seconds = run_worker(settings, urls)
    with psycopg.connect(libpq_url(owner)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (fresh["tenant_id"],))
        chunks = conn.execute("SELECT count(*) FROM rag_chunks").fetchone()[0]  # type: ignore[index]
    all_chunks = [
        c.text for n, b in enumerate(bodies) for c in chunk_document(f"Handbook page {n}", b)
    ]
    started = time.perf_counter()
    embedder.embed_sync(all_chunks)
    embed_only = time.perf_counter() - started
    return {
        "documents": len(bodies),
        "chunks": chunks,
        "worker_seconds": round(seconds, 2),
        "chunks_per_s": round(chunks / seconds, 1),
        "embedder_only_chunks_per_s": round(len(all_chunks) / embed_only, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=3)
    parser.add_argument("--other-size", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--data-dir", type=Path, help="keep the data set here and reuse it (same sizes only)"
    )
    parser.add_argument("--search-only", action="store_true", help="skip the indexing run")
    args = parser.parse_args()
    embedder = local_embedder("wordllama")
    assert isinstance(embedder, WordLlamaEmbedder)
    pool = sentence_pool()
    log(f"{len(pool)} sentences")
    result: dict[str, Any] = {"embedder": embedder.name}
    key = {"big": args.big, "others": args.others, "other_size": args.other_size}
    marker = args.data_dir / "bench-retrieval.json" if args.data_dir else None
    stored = json.loads(marker.read_text()) if marker and marker.exists() else None
    if stored is not None and stored["key"] != key:
        sys.exit(f"{args.data_dir} holds a data set of other sizes ({stored['key']})")
    if args.data_dir is not None and stored is None and (args.data_dir / "pg").exists():
        sys.exit(f"{args.data_dir} holds an incomplete data set: remove it")
    with embedded_database(args.data_dir) as (base, owner):
        settings = make_settings(base, owner)
        urls = urls_of(settings, owner)
        with app_client(settings, urls) as client:
            if stored is None:
                stored = {"key": key, "dataset": build(client, owner, args, embedder, pool)}
                if marker is not None:
                    marker.write_text(json.dumps(stored))
            else:
                log(f"reusing the data set in {args.data_dir}")
            result.update({k: v for k, v in stored["dataset"].items() if k != "big"})
            big = login(client, stored["dataset"]["big"])
            questions = [
                " ".join(s.split()[:7]).rstrip(".,;:") for s in random.Random(9).sample(pool, 60)
            ]
            headers = headers_of(big)
            latencies: dict[str, list[float]] = {"hybrid": [], "semantic": [], "keyword": []}
            for q in questions[:5]:  # warm up
                for mode in latencies:
                    client.get("/api/search", headers=headers, params={"q": q, "mode": mode})
            modes = list(latencies)
            for _ in range(args.rounds):
                for n, q in enumerate(questions):
                    # Each mode goes first for a third of the questions: the first request of a
                    # question reads its pages into the caches, which the next ones then find.
                    for mode in modes[n % 3 :] + modes[: n % 3]:
                        started = time.perf_counter()
                        response = client.get(
                            "/api/search", headers=headers, params={"q": q, "mode": mode}
                        )
                        latencies[mode].append((time.perf_counter() - started) * 1000)
                        assert response.status_code == 200, response.text
            # Other processes share the CPUs: the 1, 5 and 15 minute load averages after the run.
            result["load_average"] = [round(x, 2) for x in os.getloadavg()]
            result["search_ms"] = {
                mode: {
                    "p50": round(statistics.median(values), 1),
                    "p95": round(percentile(values, 95), 1),
                    "n": len(values),
                }
                for mode, values in latencies.items()
            }
            hybrid_hits = client.get(
                "/api/search", headers=headers, params={"q": questions[0], "mode": "hybrid"}
            ).json()["items"]
            result["hybrid_results_for_first_question"] = len(hybrid_hits)

            if not args.search_only:
                result["indexing"] = measure_indexing(client, settings, urls, owner, pool, embedder)
    hybrid_p95 = result["search_ms"]["hybrid"]["p95"]
    result["figure"] = hybrid_p95
    result["peer"] = result["search_ms"]["keyword"]["p95"]
    result["ratio"] = round(hybrid_p95 / result["peer"], 2) if result["peer"] else None
    result["goals"] = GOALS
    result["goal_met"] = hybrid_p95 <= GOALS["hybrid_p95_ms_max"] and (
        "indexing" not in result
        or result["indexing"]["chunks_per_s"] >= GOALS["index_chunks_per_s_min"]
    )
    emit(result)


if __name__ == "__main__":
    main()
