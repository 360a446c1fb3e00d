"""Minimal text edits for turning an edit made outside the sockets (a REST write of the body)
into Yjs operations on a Y.Text that collaborators may have changed meanwhile.

`rebase(base, ours, theirs)` is a three-way merge at character level: `ours` is the new body
written over `base` (the body it replaced); `theirs` is the Y.Text now, which may hold typing not
yet projected into `base`. It returns ours' changes placed in `theirs`: the characters ours
deleted are deleted where they still exist, ours' insertions go where their anchor is now, and
theirs' own changes stay untouched (so neither side's edit is lost).

    >>> rebase("a b", "a X b", "a b c")
    [Splice(start=2, stop=2, insert='X ')]
"""

from __future__ import annotations

import bisect
import difflib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pycrdt import Text

# Character-level matching is quadratic in the worst case: longer changed regions are matched
# line by line first (then character by character inside small replaced blocks).
CHAR_DIFF_LIMIT = 4000
# Gaps between anchor lines longer than this are one replaced block (see `_line_ops`).
GAP_LINES = 400
# Most splices one edit applies to the Y.Text (see `coalesce`): each costs about a pass over
# the text inside Yjs, so a long text gets fewer (at least MIN_SPLICES).
MAX_SPLICES = 200
MIN_SPLICES = 10
SPLICE_BUDGET_CHARS = 50_000_000

Opcode = tuple[str, int, int, int, int]


@dataclass(frozen=True, slots=True)
class Splice:
    """Replace `text[start:stop]` by `insert` (positions in code points)."""

    start: int
    stop: int
    insert: str


def opcodes(a: str, b: str) -> list[Opcode]:
    """difflib-style opcodes turning `a` into `b` (covering both strings, in order)."""
    limit = min(len(a), len(b))
    prefix = _common(a, b, limit, reverse=False)
    suffix = _common(a, b, limit - prefix, reverse=True)
    ops: list[Opcode] = []
    if prefix:
        ops.append(("equal", 0, prefix, 0, prefix))
    ops += _middle(a[prefix : len(a) - suffix], b[prefix : len(b) - suffix], prefix, prefix)
    if suffix:
        ops.append(("equal", len(a) - suffix, len(a), len(b) - suffix, len(b)))
    return ops


def _common(a: str, b: str, limit: int, *, reverse: bool) -> int:
    """Length of the common prefix (or suffix) of `a` and `b`, at most `limit`; compared a
    block at a time so a 10 MB body does not take a Python loop per character."""
    size = 0
    step = 4096
    while step:
        while size + step <= limit and _part(a, size, step, reverse) == _part(
            b, size, step, reverse
        ):
            size += step
        step //= 8
    return size


def _part(text: str, skip: int, length: int, reverse: bool) -> str:
    if reverse:
        return text[len(text) - skip - length : len(text) - skip]
    return text[skip : skip + length]


def _middle(a: str, b: str, da: int, db: int) -> list[Opcode]:
    if not a and not b:
        return []
    if not a or not b or len(a) + len(b) <= CHAR_DIFF_LIMIT:
        return _shift(_char_ops(a, b), da, db)
    lines_a, lines_b = a.splitlines(keepends=True), b.splitlines(keepends=True)
    starts_a, starts_b = _starts(lines_a), _starts(lines_b)
    ops: list[Opcode] = []
    for tag, i1, i2, j1, j2 in _line_ops(lines_a, lines_b):
        c1, c2, k1, k2 = starts_a[i1], starts_a[i2], starts_b[j1], starts_b[j2]
        if tag == "replace" and (c2 - c1) + (k2 - k1) <= CHAR_DIFF_LIMIT:
            ops += _shift(_char_ops(a[c1:c2], b[k1:k2]), da + c1, db + k1)
        else:
            ops.append((tag, da + c1, da + c2, db + k1, db + k2))
    return ops


def _line_ops(a: list[str], b: list[str]) -> list[Opcode]:
    """Line opcodes in near-linear time (patience diff): lines found once in each text anchor
    the match; difflib (quadratic when changes are scattered) only fills small gaps."""
    ops: list[Opcode] = []
    i0 = j0 = 0
    for i, j in [*_anchors(a, b), (len(a), len(b))]:
        if i - i0 + j - j0 <= GAP_LINES and i > i0 and j > j0:
            matcher = difflib.SequenceMatcher(None, a[i0:i], b[j0:j], autojunk=False)
            ops += _shift(matcher.get_opcodes(), i0, j0)
        elif i > i0 or j > j0:
            tag = "replace" if i > i0 and j > j0 else "delete" if i > i0 else "insert"
            ops.append((tag, i0, i, j0, j))
        if i < len(a):
            ops.append(("equal", i, i + 1, j, j + 1))
        i0, j0 = i + 1, j + 1
    return ops


def _anchors(a: list[str], b: list[str]) -> list[tuple[int, int]]:
    """The longest increasing run of (a index, b index) pairs of lines unique in both."""
    count_a = Counter(a)
    count_b = Counter(b)
    in_b = {line: j for j, line in enumerate(b) if count_b[line] == 1}
    pairs = [(i, in_b[line]) for i, line in enumerate(a) if count_a[line] == 1 and line in in_b]
    # Patience sorting: tails[k] ends the best run of length k + 1; back links rebuild it.
    tails: list[int] = []
    tail_at: list[int] = []
    back: list[int] = []
    for index, (_, j) in enumerate(pairs):
        k = bisect.bisect_left(tails, j)
        back.append(tail_at[k - 1] if k else -1)
        if k == len(tails):
            tails.append(j)
            tail_at.append(index)
        else:
            tails[k], tail_at[k] = j, index
    run: list[tuple[int, int]] = []
    index = tail_at[-1] if tail_at else -1
    while index >= 0:
        run.append(pairs[index])
        index = back[index]
    return run[::-1]


def _char_ops(a: str, b: str) -> list[Opcode]:
    if not a or not b:
        return [("delete" if a else "insert", 0, len(a), 0, len(b))]
    return [
        (tag, i1, i2, j1, j2)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    ]


def _starts(lines: list[str]) -> list[int]:
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return starts


def _shift(ops: Sequence[Opcode], da: int, db: int) -> list[Opcode]:
    return [(tag, i1 + da, i2 + da, j1 + db, j2 + db) for tag, i1, i2, j1, j2 in ops]


def rebase(base: str, ours: str, theirs: str) -> list[Splice]:
    """Ours' changes to `base`, as splices of `theirs` (sorted, not overlapping)."""
    mine = [op for op in opcodes(base, ours) if op[0] != "equal"]
    if theirs == base:
        return [Splice(i1, i2, ours[j1:j2]) for _, i1, i2, j1, j2 in mine]
    drift = opcodes(base, theirs)
    kept = [op for op in drift if op[0] == "equal"]
    splices: list[Splice] = []
    for _, i1, i2, j1, j2 in mine:
        at = _anchor(drift, i1, replacing=i2 > i1)
        # Ours' insertion, then the deletions of the base characters theirs still has.
        pieces = [Splice(at, at, ours[j1:j2])] if j2 > j1 else []
        for _, a1, a2, b1, _ in kept:
            lo, hi = max(i1, a1), min(i2, a2)
            if lo < hi:
                pieces.append(Splice(b1 + lo - a1, b1 + hi - a1, ""))
        splices += pieces
    return _merged(splices)


def coalesce(splices: list[Splice], theirs: str) -> list[Splice]:
    """Few enough splices for Yjs: the closest neighbours are joined (the text between them is
    deleted and inserted again). A rewrite of a long text with thousands of scattered changes
    would otherwise cost minutes (each splice costs about a pass over the text)."""
    limit = max(MIN_SPLICES, min(MAX_SPLICES, SPLICE_BUDGET_CHARS // max(len(theirs), 1)))
    if len(splices) <= limit:
        return splices
    pairs = sorted(range(len(splices) - 1), key=lambda i: splices[i + 1].start - splices[i].stop)
    joined = set(pairs[: len(splices) - limit])
    out: list[Splice] = []
    group: list[str] = []
    start = splices[0].start
    for index, splice in enumerate(splices):
        group.append(splice.insert)
        if index in joined:
            group.append(theirs[splice.stop : splices[index + 1].start])
        else:
            out.append(Splice(start, splice.stop, "".join(group)))
            group = []
            if index + 1 < len(splices):
                start = splices[index + 1].start
    return out


def _anchor(drift: list[Opcode], position: int, *, replacing: bool) -> int:
    """Where base's boundary `position` is in theirs (inside a region theirs changed: after
    their change). Where theirs inserted text at that very boundary, a pure insertion of ours
    goes before it, and a replacement goes with the first character it replaces, after it (so
    a replaced word is never split around theirs' text)."""
    for tag, a1, a2, b1, b2 in drift:
        if tag == "equal" and (a1 <= position < a2 or (position == a2 and not replacing)):
            return b1 + position - a1
        if tag != "equal" and a1 <= position <= a2:
            if a1 == a2:
                return b1 if not replacing else b2
            return b1 if position == a1 else b2
    return drift[-1][4] if drift else 0


def _merged(splices: list[Splice]) -> list[Splice]:
    """Sorted by position; touching splices become one (same result, fewer Yjs items)."""
    splices.sort(key=lambda s: (s.start, s.stop))
    out: list[Splice] = []
    for splice in splices:
        if out and out[-1].stop == splice.start:
            last = out[-1]
            out[-1] = Splice(last.start, splice.stop, last.insert + splice.insert)
        else:
            out.append(splice)
    return out


def apply(text: Text, theirs: str, splices: list[Splice]) -> None:
    """Apply `splices` of `theirs` (the current value of `text`) inside the caller's
    transaction. pycrdt indexes Y.Text by UTF-8 byte, so positions are converted once."""
    offsets: list[tuple[int, int]] = []
    position = byte = 0
    for splice in splices:
        byte += _utf8_len(theirs[position : splice.start])
        stop = byte + _utf8_len(theirs[splice.start : splice.stop])
        offsets.append((byte, stop))
        position, byte = splice.stop, stop
    for splice, (start, stop) in zip(reversed(splices), reversed(offsets), strict=True):
        if stop > start:
            del text[start:stop]
        if splice.insert:
            text.insert(start, splice.insert)


def _utf8_len(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def edit(text: Text, *, base: str, ours: str) -> None:
    """Rebase ours onto the current value of `text` and apply it (see `rebase`)."""
    theirs = str(text)
    apply(text, theirs, coalesce(rebase(base, ours, theirs), theirs))
