from __future__ import annotations

from patchpush.publish.document import last_described, merge, prepend_notes, wrap

HEAD = "a" * 40
OLD_HEAD = "b" * 40


def test_overwrite_replaces_the_file_and_records_the_range() -> None:
    section = wrap("## Notes\n\n- x\n", base=OLD_HEAD, head=HEAD)
    assert merge("anything a human wrote", section, mode="overwrite") == section
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
        once = merge("# Changelog\n", section, mode=mode)  # type: ignore[arg-type]
        assert merge(once, wrap("## Notes again\n", base=OLD_HEAD, head=HEAD), mode=mode) == once  # type: ignore[arg-type]
