"""Citations of an answer checked against the passages it was given (RAG-4).

An answer cites passages as [n]. A number with no passage is dropped; a citation whose quoted
words ("...") just before it are not in that passage is dropped too. What is left, in order of
first use, becomes the answer's citation list.

    >>> check('Use "two factor" login [1] and a VPN [3].', ["Turn on two factor login."])
    CitationCheck(valid=(1,), invalid=(3,), unsupported=())
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MARK = re.compile(r"\[(\d{1,3})\]")
# A quotation ("…", “…”) that ends within a few characters before a mark.
_QUOTE_BEFORE = re.compile(r"[\"“]([^\"”]{3,400})[\"”][^\"“”\[\]]{0,40}$")


@dataclass(frozen=True)
class CitationCheck:
    valid: tuple[int, ...]  # cited, exists, quotes (if any) found in it; order of first use
    invalid: tuple[int, ...]  # numbers with no passage
    unsupported: tuple[int, ...]  # a quote before the mark is not in that passage


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def check(answer: str, passages: list[str]) -> CitationCheck:
    valid: list[int] = []
    invalid: list[int] = []
    unsupported: list[int] = []
    normal_passages = [_normal(p) for p in passages]
    for match in _MARK.finditer(answer):
        number = int(match.group(1))
        if not 1 <= number <= len(passages):
            if number not in invalid:
                invalid.append(number)
            continue
        quote = _QUOTE_BEFORE.search(answer[max(0, match.start() - 500) : match.start()])
        if quote and _normal(quote.group(1)) not in normal_passages[number - 1]:
            if number not in unsupported:
                unsupported.append(number)
            continue
        if number not in valid:
            valid.append(number)
    return CitationCheck(
        valid=tuple(n for n in valid if n not in unsupported),
        invalid=tuple(invalid),
        unsupported=tuple(unsupported),
    )


def strip_marks(answer: str, numbers: set[int]) -> str:
    """The answer without the marks of `numbers` (citations that did not hold up)."""
    return _MARK.sub(lambda m: "" if int(m.group(1)) in numbers else m.group(0), answer)
