"""Realistic text for the search and document-list benchmarks, made offline and loaded fast.

Text: English sentences from the docstrings of the Python standard library and the installed
packages (prose written by people, found on any machine that runs TyneBase; no downloads).
Documents are runs of consecutive sentences (so a body stays on one topic), split into
paragraphs, with a title from the opening words of a sentence. Everything is derived from a seed.

Loading: COPY through psycopg as the owner role into a temporary table, then one INSERT ... SELECT
per chunk with the tenant set for the transaction (FORCE RLS applies to the owner too, and
PostgreSQL refuses COPY FROM into a table with RLS), several connections in parallel (the search
vector of each row is computed as it is inserted, so one connection would use one core).
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import sysconfig
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

_DOCSTRING = re.compile(r'"""(.*?)"""', re.S)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_WORDLIKE = re.compile(r"^[A-Za-z][A-Za-z'’,;:()\-]*[.,;:!?)]?$")
_TOKEN = re.compile(r"[a-z]{4,}")
_SKIP_LINE = (">>>", "...", ":", "..", "-", "*", "|", "=", "#", "+")
# Words too common to be a realistic query on their own (and English stop words).
STOP = frozenset(
    {
        "this",
        "that",
        "with",
        "from",
        "have",
        "which",
        "will",
        "when",
        "what",
        "there",
        "their",
        "they",
        "them",
        "then",
        "than",
        "these",
        "those",
        "been",
        "were",
        "into",
        "only",
        "also",
        "more",
        "most",
        "some",
        "such",
        "each",
        "other",
        "must",
        "should",
        "would",
        "could",
        "your",
        "does",
        "used",
        "using",
        "uses",
        "true",
        "false",
        "none",
        "return",
        "returns",
        "default",
        "given",
        "value",
        "values",
        "object",
        "objects",
        "function",
        "functions",
        "method",
        "methods",
        "class",
        "classes",
        "instance",
        "argument",
        "arguments",
        "parameter",
        "parameters",
        "string",
        "strings",
        "list",
        "type",
        "types",
        "name",
        "names",
        "data",
        "file",
    }
)


def log(message: str) -> None:
    import sys

    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sentence_pool(limit: int = 120_000, seed: int = 7) -> list[str]:
    """Distinct prose sentences from docstrings (code examples, tables and lists left out),
    kept in reading order of a seeded file order, so consecutive sentences belong together."""
    paths = sysconfig.get_paths()
    roots = {Path(paths["stdlib"]), Path(paths["purelib"])}
    files = sorted(
        p for root in roots for p in root.rglob("*.py") if not {"test", "tests"} & set(p.parts)
    )
    random.Random(seed).shuffle(files)
    seen: set[str] = set()
    pool: list[str] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for block in _DOCSTRING.findall(text):
            paragraph: list[str] = []
            for line in [*(raw.strip() for raw in block.splitlines()), ""]:
                if line and not line.startswith(_SKIP_LINE) and not line.endswith("::"):
                    paragraph.append(line)
                    continue
                for sentence in _SENTENCE_END.split(" ".join(paragraph)):
                    words = sentence.split()
                    if (
                        5 <= len(words) <= 40
                        and sentence[-1] in ".!?"
                        and sum(bool(_WORDLIKE.match(w)) for w in words) >= 0.8 * len(words)
                        and sentence not in seen
                    ):
                        seen.add(sentence)
                        pool.append(sentence)
                paragraph = []
        if len(pool) >= limit:
            break
    if len(pool) < 5_000:
        raise RuntimeError(f"only {len(pool)} sentences of prose found in the installed Python")
    return pool


@dataclass
class DocGen:
    """Titles and bodies from the pool: ~1.4 KB bodies on average, log-normal lengths."""

    pool: list[str]
    rng: random.Random

    def title(self) -> str:
        words = self.rng.choice(self.pool).rstrip(".!?").split()
        n = self.rng.randint(3, 8)
        text = " ".join(words[:n]).strip(",;:()")
        return text[:1].upper() + text[1:]

    def body(self) -> str:
        n = max(2, min(120, round(self.rng.lognormvariate(math.log(14), 0.7))))
        start = self.rng.randrange(len(self.pool) - n)
        sentences = self.pool[start : start + n]
        paragraphs, i = [], 0
        while i < n:
            k = self.rng.randint(2, 5)
            paragraphs.append(" ".join(sentences[i : i + k]))
            i += k
        return "\n\n".join(paragraphs)


# Query classes by the share of the tenant's documents a word's stem is in (measured on the
# loaded data, so stemming counts: "dependencies" also finds "depend", "dependent", ...).
BANDS = {"rare": (0.001, 0.01), "mid": (0.01, 0.05), "common": (0.05, 0.15)}


def make_queries(
    pool: list[str], owner_dsn: str, tenant_id: str, *, seed: int = 11, sample_docs: int = 3000
) -> list[dict[str, str]]:
    """50 queries people would type into a knowledge base search box, by class: 15 rare words,
    15 mid-frequency words, 10 two-word and 4 three-word queries, 3 quoted phrases and 3 common
    words (the broad searches a p95 is made of). Words come from generated text; how many
    documents each one's stem is in comes from the loaded tenant (ts_stat)."""
    rng = random.Random(seed)
    gen = DocGen(pool, random.Random(seed + 1))
    words: set[str] = set()
    bigrams: Counter[str] = Counter()
    for _ in range(sample_docs):
        tokens = _TOKEN.findall((gen.title() + " " + gen.body()).lower())
        words.update(set(tokens) - STOP)
        bigrams.update(
            {f"{a} {b}" for a, b in itertools.pairwise(tokens) if a not in STOP and b not in STOP}
        )
    with psycopg.connect(owner_dsn) as conn, conn.transaction():
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        total = conn.execute("SELECT count(*) FROM documents").fetchone()
        ndoc = dict(
            conn.execute("SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM documents')")
        )
        stems = conn.execute(
            "SELECT w, array_to_string(tsvector_to_array(to_tsvector('english', w)), ' ') "
            "FROM unnest(%s::text[]) AS w",
            (sorted(words),),
        ).fetchall()
    assert total is not None
    share = {w: ndoc.get(stem, 0) / total[0] for w, stem in stems if stem and " " not in stem}

    def band(name: str) -> list[str]:
        lo, hi = BANDS[name]
        return sorted(w for w, f in share.items() if lo <= f < hi)

    rare, mid, common = band("rare"), band("mid"), band("common")
    phrases = sorted(p for p, c in bigrams.items() if 0.003 <= c / sample_docs < 0.02)
    queries = [{"q": w, "class": "rare word"} for w in rng.sample(rare, 15)]
    queries += [{"q": w, "class": "mid word"} for w in rng.sample(mid, 15)]
    queries += [{"q": " ".join(rng.sample(mid, 2)), "class": "two words"} for _ in range(6)]
    queries += [
        {"q": f"{rng.choice(mid)} {rng.choice(rare)}", "class": "two words"} for _ in range(4)
    ]
    queries += [{"q": " ".join(rng.sample(mid, 3)), "class": "three words"} for _ in range(4)]
    queries += [{"q": f'"{p}"', "class": "phrase"} for p in rng.sample(phrases, 3)]
    queries += [{"q": w, "class": "common word"} for w in rng.sample(common, 3)]
    return queries


# --------------------------------------------------------------------------------------------
# Loading


@dataclass
class TenantSpec:
    tenant_id: str
    documents: int
    authors: list[str]  # user ids; documents are spread over them


# The mix a real workspace shows: mostly published team documents, some drafts and reviews,
# a few private ones.
STATUS_MIX = (
    ("published", "team", 0.78),
    ("draft", "team", 0.12),
    ("in_review", "team", 0.04),
    ("published", "private", 0.06),
)

# PostgreSQL refuses COPY FROM into a table with row-level security, so rows are COPYed into a
# temporary table and moved with one INSERT ... SELECT (checked by the tenant policy).
COLUMNS = (
    "tenant_id, title, body, status, visibility, author_id, current_version, published_at, "
    "created_at, updated_at"
)
STAGE_SQL = (
    "CREATE TEMP TABLE IF NOT EXISTS stage_documents ON COMMIT DELETE ROWS AS "  # noqa: S608
    f"SELECT {COLUMNS} FROM documents WITH NO DATA"
)
COPY_SQL = f"COPY stage_documents ({COLUMNS}) FROM STDIN"
MOVE_SQL = f"INSERT INTO documents ({COLUMNS}) SELECT {COLUMNS} FROM stage_documents"  # noqa: S608


def _rows(spec: TenantSpec, count: int, seed: int, pool: list[str]) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    gen = DocGen(pool, rng)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    weights = [w for _, _, w in STATUS_MIX]
    for _ in range(count):
        status, visibility, _w = rng.choices(STATUS_MIX, weights)[0]
        created = now - timedelta(seconds=rng.randrange(3 * 365 * 86400))
        updated = created + timedelta(seconds=rng.randrange(90 * 86400))
        yield (
            spec.tenant_id,
            gen.title(),
            gen.body(),
            status,
            visibility,
            rng.choice(spec.authors),
            1,
            updated if status == "published" else None,
            created,
            updated,
        )


def load(
    owner_dsn: str,
    specs: list[TenantSpec],
    pool: list[str],
    *,
    workers: int = 4,
    chunk: int = 5000,
    seed: int = 3,
) -> float:
    """COPY every tenant's documents, `workers` connections at a time; returns seconds."""
    jobs: list[tuple[TenantSpec, int, int]] = []
    for t, spec in enumerate(specs):
        for start in range(0, spec.documents, chunk):
            jobs.append(
                (spec, min(chunk, spec.documents - start), seed * 1_000_003 + t * 1009 + start)
            )
    lock = threading.Lock()
    errors: list[BaseException] = []
    done = [0]
    total = sum(s.documents for s in specs)
    started = time.perf_counter()

    def work() -> None:
        with psycopg.connect(owner_dsn) as conn:
            while True:
                with lock:
                    if not jobs or errors:
                        return
                    spec, count, job_seed = jobs.pop(0)
                try:
                    with conn.transaction():
                        conn.execute(
                            "SELECT set_config('app.tenant_id', %s, true)", (spec.tenant_id,)
                        )
                        conn.execute(STAGE_SQL)
                        with conn.cursor().copy(COPY_SQL) as copy:
                            for row in _rows(spec, count, job_seed, pool):
                                copy.write_row(row)
                        conn.execute(MOVE_SQL)
                except BaseException as exc:
                    with lock:
                        errors.append(exc)
                    return
                with lock:
                    done[0] += count
                    if done[0] % 20_000 < count:
                        rate = done[0] / (time.perf_counter() - started)
                        log(f"  loaded {done[0]}/{total} documents ({rate:.0f}/s)")

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) documents")
    return time.perf_counter() - started


def cached(path: Path, key: dict[str, Any], make: Callable[[], Any]) -> Any:
    """`make()`'s JSON result, kept in `path` while `key` (what it was made from) is the same."""
    if path.exists():
        stored = json.loads(path.read_text())
        if stored.get("key") == key:
            return stored["value"]
    value = make()
    path.write_text(json.dumps({"key": key, "value": value}))
    return value


def new_id() -> str:
    return str(uuid.uuid4())
