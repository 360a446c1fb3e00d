"""Units: chunking by structure, citation checks, rank fusion."""

from __future__ import annotations

from tynebase.rag import chunking, citations
from tynebase.rag.chunking import chunk_document
from tynebase.rag.retrieval import HNSW_MAX_EF_SEARCH, _beams, rrf


def test_chunks_follow_headings_and_carry_their_path() -> None:
    body = (
        "Preamble line.\n\n# Install\n\nStep one.\n\n## On Linux\n\nUse the package.\n\n"
        "```sh\n# a comment, not a heading\napt install x\n```\n\n# Use\n\nRun it."
    )
    chunks = chunk_document("Tool  guide", body)
    assert [c.heading for c in chunks] == [
        "Tool guide",
        "Tool guide > Install",
        "Tool guide > Install > On Linux",
        "Tool guide > Use",
    ]
    assert "# a comment, not a heading" in chunks[2].content
    assert chunks[2].text.startswith("Tool guide > Install > On Linux\n\n")
    assert [c.ordinal for c in chunks] == [0, 1, 2, 3]


def test_small_pieces_merge_and_long_ones_split_at_sentences() -> None:
    paragraphs = "\n\n".join(f"Short paragraph {n}." for n in range(6))
    (merged,) = chunk_document("T", paragraphs)
    assert merged.content.count("Short paragraph") == 6
    sentence = "The service restarts when its health check fails three times in a row. "
    long = chunk_document("T", sentence * 40)
    assert len(long) > 1
    assert all(len(c.content) <= chunking.TARGET_CHARS for c in long)
    assert all(c.content.endswith("row.") for c in long)
    unbroken = chunk_document("T", "x" * 5000)
    assert all(len(c.content) <= chunking.TARGET_CHARS for c in unbroken)
    assert "".join(c.content.replace("\n\n", "") for c in unbroken) == "x" * 5000


def test_empty_body_gives_the_title() -> None:
    (only,) = chunk_document("Just a title", "   \n")
    assert only.content == "Just a title"


def test_citation_check() -> None:
    passages = ["Backups run nightly at 02:00.", "Restores need an admin."]
    ok = citations.check("Backups run nightly [1]; restores need an admin [2][1].", passages)
    assert ok == citations.CitationCheck(valid=(1, 2), invalid=(), unsupported=())
    bad = citations.check('They run "every hour" [1], see [7].', passages)
    assert bad == citations.CitationCheck(valid=(), invalid=(7,), unsupported=(1,))
    quoted = citations.check('They run "nightly at 02:00" [1].', passages)
    assert quoted.valid == (1,)
    assert citations.strip_marks("a [1] b [7]", {7}) == "a [1] b "


def test_rrf_rewards_agreement() -> None:
    scores = rrf([["a", "b", "c"], ["b", "c", "a"]])
    assert max(scores, key=lambda k: scores[k]) == "b"
    assert rrf([["x"]]) == {"x": 1 / 61}


def test_hnsw_beams_widen_up_to_pgvectors_limit() -> None:
    # The configured beam first (at least the rows asked for), then 4x wider, up to 1000.
    assert _beams(100, 100) == [100, 400, HNSW_MAX_EF_SEARCH]
    assert _beams(40, 50) == [50, 200, 800, HNSW_MAX_EF_SEARCH]
    assert _beams(1000, 100) == [HNSW_MAX_EF_SEARCH]
