"""The offline half of AI enhance: a readability score and concrete, applicable suggestions
found by rules (no model needed), each an edit of the document's text with a stable id.

    score, suggestions, metrics = analyse("Intro text  with the the typo.")
    suggestions[0].edit   # Edit(op="replace", start=20, end=27, text="the", expect="the the")

Ids are derived from the text's hash and the edit itself, so the same text always gets the same
suggestions with the same ids, and an id names exactly one change of exactly one text.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

Op = Literal["replace", "insert"]
MAX_RULE_SUGGESTIONS = 25
LONG_PARAGRAPH_WORDS = 150
HEADINGLESS_WORDS = 250

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_HEADING = re.compile(r"^(#{1,6})([ \t]+)(.+?)[ \t]*$", re.M)
_REPEATED = re.compile(r"\b(\w{2,})(\s+)(\1)\b", re.I)
_DOUBLE_SPACE = re.compile(r"(?<=\S)( {2,})(?=\S)")
_MISSING_SPACE = re.compile(r"(?<=[a-z]{2})\.(?=[A-Z][a-z])")
_BLANK_RUN = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


@dataclass(frozen=True)
class Edit:
    op: Op
    start: int  # character offsets into the text the suggestions were made for
    end: int  # == start for an insert
    text: str  # what goes there
    expect: str  # what is there now ("" for an insert): checked again when applied


@dataclass(frozen=True)
class Suggestion:
    id: str
    kind: str  # structure, clarity, style, typo, grammar ...
    message: str
    edit: Edit
    source: str = "rules"  # or "model"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Suggestion:
        return cls(
            id=data["id"],
            kind=data["kind"],
            message=data["message"],
            edit=Edit(**data["edit"]),
            source=data.get("source", "rules"),
        )


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_suggestion(
    text_sha: str, kind: str, message: str, edit: Edit, source: str = "rules"
) -> Suggestion:
    key = f"{text_sha}|{edit.op}|{edit.start}|{edit.end}|{edit.text}"
    return Suggestion(
        id="sg_" + hashlib.sha256(key.encode()).hexdigest()[:16],
        kind=kind,
        message=message,
        edit=edit,
        source=source,
    )


def _code_spans(text: str) -> list[tuple[int, int]]:
    spans = [m.span() for m in _FENCE.finditer(text)]
    spans += [m.span() for m in _INLINE_CODE.finditer(text)]
    return spans


def _in_code(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _edits(text: str) -> list[tuple[str, str, Edit]]:
    """(kind, message, edit) found by the rules, in text order."""
    code = _code_spans(text)
    found: list[tuple[str, str, Edit]] = []

    def add(kind: str, message: str, start: int, end: int, new: str) -> None:
        if _in_code(code, start, max(end, start + 1)):
            return
        op: Op = "insert" if start == end else "replace"
        found.append((kind, message, Edit(op, start, end, new, text[start:end])))

    for m in _REPEATED.finditer(text):
        add("typo", f'Repeated word "{m.group(1)}"', m.start(), m.end(), m.group(1))
    for m in _DOUBLE_SPACE.finditer(text):
        add("style", "Two spaces between words", m.start(1), m.end(1), " ")
    for m in _MISSING_SPACE.finditer(text):
        add("typo", "Missing space after a full stop", m.end(), m.end(), " ")
    for m in _BLANK_RUN.finditer(text):
        add("style", "Several blank lines in a row", m.start(), m.end(), "\n\n")

    headings = list(_HEADING.finditer(text))
    previous = 0
    for m in headings:
        level = len(m.group(1))
        if previous and level > previous + 1:
            add(
                "structure",
                f"Heading level jumps from {previous} to {level}",
                m.start(1),
                m.end(1),
                "#" * (previous + 1),
            )
            level = previous + 1
        previous = level
        title = m.group(3)
        if title.endswith((":", ".", ";")) and not title.endswith("..."):
            end = m.start(3) + len(title)
            add("style", "Headings read better without end punctuation", end - 1, end, "")
    words = _words(text)
    if words > HEADINGLESS_WORDS and not headings:
        first = len(text) - len(text.lstrip())
        add(
            "structure",
            f"{words} words without a heading: add headings so readers can scan",
            first,
            first,
            "## Overview\n\n",
        )
    for m in re.finditer(r"[^\n](?:.|\n(?!\s*\n))*", text):
        paragraph = m.group(0)
        if _words(paragraph) <= LONG_PARAGRAPH_WORDS or paragraph.lstrip().startswith(
            ("#", "-", "*", "|", ">", "```", "1.")
        ):
            continue
        breaks = [b.start() for b in _SENTENCE_END.finditer(paragraph)]
        if not breaks:
            continue
        middle = min(breaks, key=lambda b: abs(b - len(paragraph) // 2))
        at = m.start() + middle
        gap = _SENTENCE_END.match(paragraph, middle)
        end = at + (len(gap.group(0)) if gap else 0)
        add(
            "clarity",
            f"A paragraph of {_words(paragraph)} words: split it in two",
            at,
            end,
            "\n\n",
        )
    return sorted(found, key=lambda item: (item[2].start, item[2].end))


def _sentences(text: str) -> list[str]:
    prose = _FENCE.sub(" ", text)
    prose = "\n".join(line for line in prose.splitlines() if not _HEADING.match(line))
    return [s for s in re.split(r"(?<=[.!?])\s+|\n\s*\n", prose) if _words(s) > 0]


def metrics_of(text: str) -> dict[str, Any]:
    sentences = _sentences(text)
    lengths = [_words(s) for s in sentences]
    return {
        "words": _words(text),
        "sentences": len(sentences),
        "average_sentence_words": round(sum(lengths) / len(lengths), 1) if lengths else 0.0,
        "long_sentences": sum(1 for n in lengths if n > 35),
        "headings": len(_HEADING.findall(text)),
    }


def score_of(metrics: dict[str, Any], suggestions: int) -> int:
    """0-100: fewer problems, shorter sentences, some structure, enough substance."""
    score = 100.0
    score -= min(30, 3 * suggestions)
    average = metrics["average_sentence_words"]
    if average > 22:
        score -= min(20, (average - 22) * 1.5)
    if metrics["sentences"]:
        score -= 15 * metrics["long_sentences"] / metrics["sentences"]
    if metrics["words"] > HEADINGLESS_WORDS and not metrics["headings"]:
        score -= 10
    if metrics["words"] < 30:
        score -= 20
    return max(0, min(100, round(score)))


def analyse(text: str) -> tuple[int, list[Suggestion], dict[str, Any]]:
    """The rules' score, suggestions (at most MAX_RULE_SUGGESTIONS) and text metrics."""
    sha = text_hash(text)
    found = _edits(text)[:MAX_RULE_SUGGESTIONS]
    suggestions = [make_suggestion(sha, kind, message, edit) for kind, message, edit in found]
    metrics = metrics_of(text)
    return score_of(metrics, len(suggestions)), suggestions, metrics


def apply_edits(text: str, edits: list[Edit]) -> str:
    """`text` with `edits` applied (they must not overlap; see `overlapping`)."""
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text


def overlapping(edits: list[Edit]) -> bool:
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for a, b in itertools.pairwise(ordered):
        # Two inserts at one place, or a span reaching into the next edit, conflict.
        if b.start < a.end or (a.start == b.start and (a.op == "insert" or b.op == "insert")):
            return True
    return False
