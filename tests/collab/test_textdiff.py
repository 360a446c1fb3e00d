"""The three-way text merge that turns a REST body edit into Yjs operations, without a server."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pycrdt import Doc, Text

from tynebase.collab import textdiff
from tynebase.collab.external import edit_update
from tynebase.collab.room import TEXT_NAME


def _merge(base: str, ours: str, theirs: str) -> str:
    doc: Doc[Any] = Doc()
    text = doc.get(TEXT_NAME, type=Text)
    text += theirs
    with doc.transaction():
        textdiff.edit(text, base=base, ours=ours)
    return str(text)


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "merged"),
    [
        ("hello\n", "hello world\n", "hello\n", "hello world\n"),
        # typing not in the body yet is kept, wherever it is
        ("hello\n", "hello world\n", "hello\nA", "hello world\nA"),
        ("a b c", "a c", "X a b c", "X a c"),
        ("one two three", "one three", "one TWO two three", "one TWO three"),
        # both deleted the same text: deleted once
        ("keep drop keep", "keep keep", "keep keep", "keep keep"),
        # they changed text ours replaced: ours' insertion, their change of it stays
        ("x = 1\n", "x = 2\n", "x = 10\n", "x = 20\n"),
        ("", "new\n", "typed", "new\ntyped"),
        # a replaced word stays whole next to text they inserted at its start
        ("line 0\n", "changed 0\n", "typed\nline 0\n", "typed\nchanged 0\n"),
        ("gone", "", "gone!", "!"),
        # multi-byte characters (pycrdt indexes Y.Text by UTF-8 byte)
        ("héllo 😀 wörld", "héllo 😀 big wörld!", "héllo 😀 wörld ü", "héllo 😀 big wörld! ü"),
        ("日本語テキスト", "日本語の新テキスト", "日本語テキスト🎉", "日本語の新テキスト🎉"),
    ],
)
def test_rebase_keeps_both_sides(base: str, ours: str, theirs: str, merged: str) -> None:
    assert _merge(base, ours, theirs) == merged


def test_without_concurrent_typing_the_result_is_ours() -> None:
    rng = random.Random(4)
    alphabet = "ab \né😀"
    for size in (0, 5, 40, 3000):
        for _ in range(25):
            base = "".join(rng.choice(alphabet) for _ in range(size))
            chars = list(base)
            for _ in range(rng.randint(1, 6)):
                at = rng.randint(0, len(chars))
                if rng.random() < 0.5 and chars:
                    del chars[at : at + rng.randint(1, 8)]
                else:
                    chars[at:at] = rng.choice(alphabet) * rng.randint(1, 8)
            ours = "".join(chars)
            assert _merge(base, ours, base) == ours


def test_long_texts_are_diffed_by_line_then_by_character() -> None:
    base = "".join(f"line {i}\n" for i in range(2000))
    ours = base.replace("line 10\n", "line ten\n").replace("line 1500\n", "")
    splices = textdiff.rebase(base, ours, base)
    # Minimal: the changed characters, not whole regions.
    assert sum(len(s.insert) + s.stop - s.start for s in splices) < 40
    theirs = base + "typed\n"
    assert _merge(base, ours, theirs) == ours + "typed\n"


def test_the_update_merges_with_concurrent_yjs_typing() -> None:
    stored: Doc[Any] = Doc()
    stored.get(TEXT_NAME, type=Text).insert(0, "title\nbody\n")
    state = stored.get_update()
    # A client typed after the stored state was read; the REST edit is made without it.
    client: Doc[Any] = Doc()
    client.apply_update(state)
    client_text = client.get(TEXT_NAME, type=Text)
    client_text += "typing\n"
    update = edit_update(state, "title\nbody\n", "TITLE\nbody\n")
    client.apply_update(update)
    assert str(client_text) == "TITLE\nbody\ntyping\n"


def test_scattered_rewrites_are_applied_in_few_splices() -> None:
    base = "".join(f"line {i}\n" for i in range(3000))
    ours = "".join(f"line {i}\n" if i % 5 else f"changed {i}\n" for i in range(3000))
    splices = textdiff.rebase(base, ours, base)
    assert len(splices) > textdiff.MAX_SPLICES
    joined = textdiff.coalesce(splices, base)
    assert len(joined) <= textdiff.MAX_SPLICES
    assert _merge(base, ours, base) == ours
    assert _merge(base, ours, "typed\n" + base) == "typed\n" + ours
