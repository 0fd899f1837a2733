"""The model's summary is kept whole: a last sentence that announces a list is dropped, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patchpush.notes.answer import clean, finished, section_title

_SENTENCE = st.text(st.sampled_from("abc 1.2,:"), min_size=1, max_size=30).map(str.strip).filter(bool)


@given(st.lists(_SENTENCE, min_size=1, max_size=5), st.sampled_from([".", "!", ":", ""]))
def test_a_summary_keeps_its_whole_sentences_and_never_ends_announcing(
    sentences: list[str], end: str
) -> None:
    summary = " ".join(s.rstrip(".!?:") + "." for s in sentences[:-1]) + " " + sentences[-1] + end
    summary = summary.strip()
    kept = finished(summary)
    assert summary.startswith(kept)
    assert not kept.endswith(":")
    if not summary.endswith(":"):
        assert kept == summary


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("Prefer oxc as minifier (fix #21973)", "Prefer oxc as minifier"),  # the 0.5B model, vite v8.1.4
        ("Prefer oxc as minifier (fix #21973).", "Prefer oxc as minifier."),
        ("Adds a flag (see #12, #13) to the CLI", "Adds a flag to the CLI"),
        ("Keep (legacy) mode (#22)", "Keep (legacy) mode"),
        ("Uses a fix (for now)", "Uses a fix (for now)"),
        ("Parses (and keeps) scopes", "Parses (and keeps) scopes"),
    ],
)
def test_an_item_keeps_no_husk_of_the_refs_taken_out(text: str, cleaned: str) -> None:
    assert clean(text) == cleaned


@given(
    st.lists(
        st.sampled_from(["Adds", "a", "flag", "(legacy)", "mode,", "the", "CLI"]), min_size=1, max_size=8
    ),
    st.sampled_from(["fix", "fixes", "closes", "see", ""]),
    st.integers(min_value=1, max_value=99_999),
    st.sampled_from(["", ".", " for users"]),
)
def test_refs_in_parentheses_leave_nothing_behind(
    words: list[str], verb: str, number: int, tail: str
) -> None:
    text = f"{' '.join(words)} ({verb} #{number}){tail}".replace("( #", "(#")
    assert clean(text) == clean(f"{' '.join(words)}{tail}")


@pytest.mark.parametrize(
    ("title", "section"),
    [
        ("Bug fixes", "Fixes"),
        ("Remote integrations", "Remote integrations"),  # the model's own heading, for untyped changes
        ("revertremote use reqwestResponseerror_for_status revert erro", "Other changes"),  # 0.5B, git-cliff
        ("error_for_status", "Other changes"),
        ("<b>Features</b>", "Features"),
    ],
)
def test_a_section_heading_is_a_heading_not_a_copied_subject(title: str, section: str) -> None:
    assert section_title(title) == section
