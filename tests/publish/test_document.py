from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patchpush.publish import MarkerMoved
from patchpush.publish.document import last_described, merge, prepend_notes, wrap

HEAD = "a" * 40
OLD_HEAD = "b" * 40


def test_overwrite_replaces_the_file_and_records_the_range() -> None:
    section = wrap("## Notes\n\n- x\n", base=OLD_HEAD, head=HEAD)
    assert merge("anything a human wrote", section, mode="overwrite", start=None) == section
    assert last_described(section) == HEAD


def test_prepend_goes_above_the_first_release_and_keeps_every_byte() -> None:
    old = "# Changelog\n\nAll notable changes.\n\n## 1.0.0\n\n- first  \r\n- human edit\t\n\n\n"
    section = wrap("## 1.1.0\n\n- new\n", base=None, head=HEAD)
    new = prepend_notes(old, section)
    assert new.startswith("# Changelog\n\nAll notable changes.\n\n" + section)
    assert new.endswith("## 1.0.0\n\n- first  \r\n- human edit\t\n\n\n")
    assert new.replace(section + "\n", "", 1) == old


def test_prepend_goes_above_earlier_patch_push_sections() -> None:
    first = wrap("## one\n", base=None, head=OLD_HEAD)
    old = "# Changelog\n\nintro paragraph\n\n" + first
    second = wrap("## two\n", base=OLD_HEAD, head=HEAD)
    new = prepend_notes(old, second)
    assert new.index("## two") < new.index("## one")
    assert last_described(new) == HEAD
    assert new.replace(second + "\n", "", 1) == old


def test_prepend_below_a_lone_title_and_into_an_empty_file() -> None:
    section = wrap("## x\n", base=None, head=HEAD)
    assert prepend_notes("# Changes\n", section) == "# Changes\n" + section
    assert prepend_notes(None, section) == section
    assert prepend_notes("plain text\n", section) == section + "\nplain text\n"


def test_no_marker_means_nothing_described_yet() -> None:
    assert last_described("# Changelog\n<!-- other comment -->\n") is None
    assert last_described(None) is None


def test_merging_the_same_range_twice_changes_nothing() -> None:
    section = wrap("## Notes\n", base=OLD_HEAD, head=HEAD)
    for mode in ("overwrite", "prepend"):
        once = merge("# Changelog\n", section, mode=mode, start=None)  # type: ignore[arg-type]
        again = wrap("## Notes again\n", base=OLD_HEAD, head=HEAD)
        assert merge(once, again, mode=mode, start=None) == once  # type: ignore[arg-type]


def test_a_file_whose_marker_moved_is_not_merged_onto() -> None:
    # Collected after OLD_HEAD, but another run wrote a newer range meanwhile.
    theirs = wrap("## theirs\n", base=OLD_HEAD, head="c" * 40)
    ours = wrap("## ours\n", base=OLD_HEAD, head=HEAD)
    for mode in ("overwrite", "prepend"):
        with pytest.raises(MarkerMoved) as moved:
            merge(theirs, ours, mode=mode, start=OLD_HEAD)  # type: ignore[arg-type]
        assert moved.value.text == theirs
    # The file appeared meanwhile: the same.
    with pytest.raises(MarkerMoved):
        merge(theirs, ours, mode="prepend", start=None)


_SHA = st.text("0123456789abcdef", min_size=40, max_size=40)


@given(
    heads=st.lists(_SHA, min_size=2, max_size=8, unique=True),
    order=st.randoms(use_true_random=False),
    mode=st.sampled_from(["overwrite", "prepend"]),
)
def test_racing_writers_never_put_an_older_range_on_top(heads: list[str], order: object, mode: str) -> None:
    """Writers i = 0..n-1 each collected after heads[i-1] (or nothing) up to heads[i], and write in any
    order onto whatever the file holds: a write lands only where it starts at the file's marker, so
    the markers in the file, top to bottom, are always newest first and none repeats."""
    import random

    assert isinstance(order, random.Random)
    text: str | None = "# Changelog\n"
    writes = list(range(len(heads)))
    order.shuffle(writes)
    for i in writes:
        start = heads[i - 1] if i else None
        section = wrap(f"## {i}\n", base=start, head=heads[i])
        try:
            text = merge(text, section, mode=mode, start=start)  # type: ignore[arg-type]
        except MarkerMoved:
            continue
    assert text is not None
    # Ranks of the sections as they stand in the file, top to bottom: strictly newest first.
    ranks = [heads.index(h) for h in re.findall(r"head=([0-9a-f]{40})", text)]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == len(ranks)
    assert last_described(text) == heads[max(ranks)]
