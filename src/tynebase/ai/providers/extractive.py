"""Extractive text processing for when no language model is configured: summaries, outlines and
answers assembled from sentences of the given text (never invented), deterministic and fast.

    >>> text = "# Cats\\n\\nCats sleep a lot. Cats purr. Dogs bark loudly at night."
    >>> summarize(text, max_sentences=1)
    'Cats sleep a lot.'
    >>> passages = ["Dogs bark.", "Cats purr when calm."]
    >>> [hit.passage for hit in answer("Why do cats purr?", passages)]
    [1]

Sentences are scored by the frequency of their content words in the whole text (a classic
Luhn/TF summariser), with a bonus for opening a section; answers score sentences by the
question's words weighted by rarity (BM25-like), so passages can be cited.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_STOPWORD_TEXT = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves also may might must shall us via
    per using use used one two get gets got"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
# A sentence ends at . ! ? (or the CJK equivalents) followed by space or the end.
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])[\"')\]]*\s+|(?<=[。！？])")
_ABBREVIATIONS = re.compile(r"\b(e\.g|i\.e|etc|vs|mr|mrs|ms|dr|prof|no|fig|approx)\.$", re.I)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_INLINE = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images -> alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links -> text
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"<[^>]+>"), ""),
]


@dataclass(frozen=True)
class Sentence:
    text: str
    section: str  # the heading path it sits under ("" before any heading)
    position: int  # order in the whole text
    first_in_section: bool
    passage: int = 0  # which passage it came from (answers)


@dataclass(frozen=True)
class Heading:
    level: int
    title: str


@dataclass(frozen=True)
class AnswerHit:
    passage: int  # index into the passages given to `answer`
    sentence: str
    score: float


def _plain(line: str) -> str:
    for pattern, replacement in _INLINE:
        line = pattern.sub(replacement, line)
    return line.strip()


def words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def stem(word: str) -> str:
    """A light suffix stripper: enough to match "servers"/"server", "deploying"/"deploy"."""
    for suffix in ("ingly", "edly", "ing", "ies", "ied", "es", "ed", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    # "expense"/"expenses", "require"/"required" meet at "expens", "requir".
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def content_terms(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def split_sentences(paragraph: str) -> list[str]:
    pieces: list[str] = []
    carry = ""
    for piece in _SENTENCE_END.split(paragraph):
        piece = (carry + " " + piece).strip() if carry else piece.strip()
        carry = ""
        if not piece:
            continue
        if _ABBREVIATIONS.search(piece):
            carry = piece  # "e.g." does not end a sentence
            continue
        pieces.append(piece)
    if carry:
        pieces.append(carry)
    return pieces


def parse(text: str, *, passage: int = 0) -> tuple[list[Heading], list[Sentence]]:
    """Headings and sentences of Markdown (code blocks and tables skipped)."""
    headings: list[Heading] = []
    sentences: list[Sentence] = []
    path: list[tuple[int, str]] = []
    in_code = False
    paragraph: list[str] = []
    section_started = True

    def flush() -> None:
        nonlocal section_started
        if not paragraph:
            return
        section = " > ".join(title for _, title in path)
        for sentence in split_sentences(" ".join(paragraph)):
            if len(words(sentence)) >= 2:
                sentences.append(
                    Sentence(sentence, section, len(sentences), section_started, passage)
                )
                section_started = False
        paragraph.clear()

    for raw in text.splitlines():
        if _FENCE.match(raw):
            flush()
            in_code = not in_code
            continue
        if in_code:
            continue
        heading = _HEADING.match(raw)
        if heading:
            flush()
            level, title = len(heading.group(1)), _plain(heading.group(2))
            headings.append(Heading(level, title))
            path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, title)]
            section_started = True
            continue
        line = raw.strip()
        if not line or line.startswith("|") or set(line) <= set("-=*_ "):
            flush()
            continue
        if _LIST_MARK.match(line):
            flush()  # each list item is its own unit
            line = _LIST_MARK.sub("", line)
        paragraph.append(_plain(line.lstrip("> ")))
    flush()
    return headings, sentences


def _sentence_scores(sentences: list[Sentence]) -> list[float]:
    frequency = Counter(term for s in sentences for term in content_terms(s.text))
    if not frequency:
        return [0.0] * len(sentences)
    top = max(frequency.values())
    scores = []
    for sentence in sentences:
        terms = content_terms(sentence.text)
        if not terms:
            scores.append(0.0)
            continue
        weight = sum(frequency[t] / top for t in terms) / math.sqrt(len(terms))
        if sentence.first_in_section:
            weight *= 1.25
        if sentence.position == 0:
            weight *= 1.15
        if len(terms) < 3:
            weight *= 0.6  # fragments say little on their own
        scores.append(weight)
    return scores


def summarize(text: str, *, max_sentences: int | None = None, max_words: int | None = None) -> str:
    """The text's most central sentences, in their original order."""
    _, sentences = parse(text)
    if not sentences:
        return ""
    if max_sentences is None:
        max_sentences = max(2, min(7, round(len(sentences) * 0.2)))
    scores = _sentence_scores(sentences)
    ranked = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    chosen: list[int] = []
    budget = max_words
    for i in ranked:
        if len(chosen) >= max_sentences:
            break
        count = len(words(sentences[i].text))
        if budget is not None:
            if count > budget and chosen:
                continue
            budget -= count
        chosen.append(i)
    return " ".join(sentences[i].text for i in sorted(chosen))


def outline(text: str, *, title: str | None = None, points_per_section: int = 2) -> str:
    """A Markdown outline: the text's headings as nested bullets with each section's key
    sentences under them; without headings, the key sentences of each stretch of text."""
    headings, sentences = parse(text)
    scores = _sentence_scores(sentences)
    by_section: dict[str, list[int]] = {}
    for i, sentence in enumerate(sentences):
        by_section.setdefault(sentence.section, []).append(i)

    def key_points(indexes: list[int]) -> list[str]:
        best = sorted(indexes, key=lambda i: (-scores[i], i))[:points_per_section]
        return [sentences[i].text for i in sorted(best)]

    lines = [f"# {title}", ""] if title else []
    if not headings:
        # No structure to follow: cut the sentences into even stretches.
        chunk = max(1, math.ceil(len(sentences) / 5))
        for start in range(0, len(sentences), chunk):
            points = key_points(list(range(start, min(start + chunk, len(sentences)))))
            lines += [f"- {points[0]}", *(f"  - {p}" for p in points[1:])]
        return "\n".join(lines).strip()
    top = min(h.level for h in headings)
    path: list[tuple[int, str]] = []
    if "" in by_section:
        lines += [f"- {p}" for p in key_points(by_section[""])]
    for heading in headings:
        path = [(lvl, t) for lvl, t in path if lvl < heading.level] + [
            (heading.level, heading.title)
        ]
        depth = len([lvl for lvl, _ in path if lvl >= top]) - 1
        indent = "  " * depth
        lines.append(f"{indent}- **{heading.title}**")
        section = " > ".join(t for _, t in path)
        lines += [f"{indent}  - {p}" for p in key_points(by_section.get(section, []))]
    return "\n".join(lines).strip()


def answer(question: str, passages: Sequence[str], *, max_sentences: int = 3) -> list[AnswerHit]:
    """Sentences of `passages` that answer `question` best (BM25-like over sentences), in the
    order they appear; empty when nothing shares a content word with the question."""
    query = set(content_terms(question))
    sentences = [s for index, text in enumerate(passages) for s in parse(text, passage=index)[1]]
    if not query or not sentences:
        return []
    bags = [Counter(content_terms(s.text)) for s in sentences]
    average = sum(sum(bag.values()) for bag in bags) / len(bags) or 1.0
    document_frequency = Counter(term for bag in bags for term in bag.keys() & query)
    k1, b = 1.2, 0.75
    scored: list[tuple[float, int]] = []
    for i, bag in enumerate(bags):
        length = sum(bag.values())
        score = 0.0
        for term in query & bag.keys():
            idf = math.log(
                1 + (len(bags) - document_frequency[term] + 0.5) / (document_frequency[term] + 0.5)
            )
            tf = bag[term]
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average))
        if score > 0:
            scored.append((score, i))
    best = sorted(scored, key=lambda pair: (-pair[0], pair[1]))[:max_sentences]
    return [
        AnswerHit(passage=sentences[i].passage, sentence=sentences[i].text, score=round(score, 4))
        for score, i in sorted(best, key=lambda pair: pair[1])
    ]
