"""The model's summary is kept whole: a last sentence that announces a list is dropped, nothing else."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from patchpush.notes.answer import finished

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
