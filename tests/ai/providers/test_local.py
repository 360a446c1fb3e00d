"""The offline provider: extractive summaries, outlines and answers taken from the given text,
deterministic, and labelled as extractive."""

from __future__ import annotations

from pathlib import Path

from tests.ai.providers.conftest import harness
from tynebase.ai.chat import ChatMessage, complete_chat, llm_configured, stream_chat
from tynebase.ai.providers import extractive
from tynebase.ai.providers.config import AITask
from tynebase.ai.providers.local import NO_ANSWER

HANDBOOK = """# Travel policy

Employees book travel through the travel desk at least two weeks ahead. The travel desk compares
fares and books the cheapest refundable option. Spontaneous trips need a manager's approval.

## Expenses

Expenses are claimed within 30 days of the trip. Receipts are required for every expense above
25 euros. Expenses without receipts are not reimbursed.

## Safety

Travellers register their trip with the safety team. The safety team sends alerts about strikes
and weather. In an emergency, call the 24-hour safety line.

```
curl https://example.com/not-a-sentence
```
"""


def test_summary_keeps_central_sentences_in_order() -> None:
    summary = extractive.summarize(HANDBOOK, max_sentences=3)
    sentences = [s for s in extractive.split_sentences(summary)]
    assert len(sentences) == 3
    for sentence in sentences:
        assert sentence in HANDBOOK.replace("\n", " ")  # extracted, never invented
    positions = [HANDBOOK.replace("\n", " ").index(s) for s in sentences]
    assert positions == sorted(positions)
    assert "curl" not in summary  # code blocks are not prose
    assert extractive.summarize(HANDBOOK, max_sentences=3) == summary  # deterministic
    assert extractive.summarize("") == ""


def test_summary_respects_a_word_budget() -> None:
    summary = extractive.summarize(HANDBOOK, max_words=25)
    assert 0 < len(extractive.words(summary)) <= 25


def test_outline_follows_the_headings() -> None:
    outline = extractive.outline(HANDBOOK, title="Travel")
    lines = outline.splitlines()
    assert lines[0] == "# Travel"
    assert "- **Travel policy**" in lines
    assert "  - **Expenses**" in lines
    assert "  - **Safety**" in lines
    expenses = lines.index("  - **Expenses**")
    assert lines[expenses + 1].startswith("    - ")
    assert "Expenses" in lines[expenses + 1] or "Receipts" in lines[expenses + 1]


def test_outline_without_headings_groups_the_text() -> None:
    text = " ".join(f"Topic {i} matters because reason {i} applies to teams." for i in range(10))
    outline = extractive.outline(text)
    assert outline.startswith("- Topic 0")
    assert len([line for line in outline.splitlines() if line.startswith("- ")]) == 5


def test_answer_finds_the_passage_and_sentence() -> None:
    passages = [
        "The office opens at 8. Parking is free for staff.",
        HANDBOOK,
        "Dogs are welcome on Fridays.",
    ]
    hits = extractive.answer("Are receipts required for expenses?", passages, max_sentences=1)
    assert [(hit.passage, hit.sentence) for hit in hits] == [
        (1, "Receipts are required for every expense above 25 euros.")
    ]
    assert extractive.answer("quantum chromodynamics?", passages) == []


def test_stemming_matches_word_forms() -> None:
    hits = extractive.answer("who registers trips", [HANDBOOK], max_sentences=1)
    assert hits[0].sentence.startswith("Travellers register their trip")


def test_local_provider_labels_results_extractive(tmp_path: Path) -> None:
    h = harness(tmp_path)
    assert not llm_configured(h.router)
    summary = h.run(
        complete_chat(
            h.router,
            tenant_preference=None,
            task=AITask.generate,
            messages=[ChatMessage("user", f"Summarise this document:\n\n{HANDBOOK}")],
        )
    )
    assert (summary.provider, summary.model, summary.extractive) == ("local", "extractive", True)
    assert summary.text == extractive.summarize(HANDBOOK)

    outline = h.run(
        complete_chat(
            h.router,
            tenant_preference=None,
            task=AITask.generate,
            messages=[
                ChatMessage("system", HANDBOOK),
                ChatMessage("user", "Write an outline of the policy"),
            ],
        )
    )
    assert outline.text == extractive.outline(HANDBOOK)

    answer = h.run(
        complete_chat(
            h.router,
            tenant_preference=None,
            messages=[
                ChatMessage("system", HANDBOOK),
                ChatMessage("user", "Within how many days are expenses claimed?"),
            ],
        )
    )
    assert answer.text.startswith("Expenses are claimed within 30 days of the trip.")

    nothing = h.run(
        complete_chat(
            h.router,
            tenant_preference=None,
            messages=[ChatMessage("system", HANDBOOK), ChatMessage("user", "Who won the cup?")],
        )
    )
    assert nothing.text == NO_ANSWER


def test_local_stream_and_token_limit(tmp_path: Path) -> None:
    h = harness(tmp_path)
    messages = [ChatMessage("system", HANDBOOK), ChatMessage("user", "Outline this")]
    stream = stream_chat(h.router, tenant_preference=None, messages=messages)
    text = h.run(stream.text())
    assert text == extractive.outline(HANDBOOK)
    assert (stream.provider, stream.extractive, stream.finish_reason) == ("local", True, "stop")
    short = h.run(complete_chat(h.router, tenant_preference=None, messages=messages, max_tokens=10))
    assert len(short.text) <= 40
    assert text.startswith(short.text)
