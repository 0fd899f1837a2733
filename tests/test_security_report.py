"""The job summary stays under GitHub's 1 MiB, which drops a larger one whole (issue #9)."""

from __future__ import annotations

from pathlib import Path

from patchpush.models import RunReport
from patchpush.report import MAX_SUMMARY_BYTES, summary


def test_a_summary_of_1_1_mb_of_notes_is_clipped_at_a_line_and_says_where_the_rest_is() -> None:
    lines = [f"- change number {n} to the widget pipeline, described at some length" for n in range(16_000)]
    notes = "## Widgets\n\n" + "\n".join(lines) + "\n"
    assert len(notes.encode()) > 1_100_000
    report = RunReport(outcome="failed", file="CHANGELOG.md", notes_markdown=notes, error="GitHub is down")
    text = summary(report, Path("/ws/logs/patch_failures.log"), Path("/ws"))
    assert len(text.encode()) <= MAX_SUMMARY_BYTES < 1024 * 1024
    kept = [line for line in text.splitlines() if line.startswith("- change number")]
    assert kept == lines[: len(kept)] and len(kept) > 10_000
    left = len(notes.encode()) - len(b"## Widgets\n\n") - sum(len(k) + 1 for k in kept)
    assert text.rstrip().endswith(
        f"{left:,} more bytes of the notes are in `patch_notes_unpublished.md` beside the failure log.*"
    )


def test_a_summary_that_fits_keeps_the_notes_whole() -> None:
    notes = "## Widgets\n\n- add users endpoint\n"
    text = summary(RunReport(outcome="committed", file="ai_patch.md", notes_markdown=notes), None)
    assert text.endswith(notes)
