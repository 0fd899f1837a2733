"""The marker only moves forward, whatever the interleaving of runs (issue 9, item 7).

The pipeline runs for real (offline writer, renderer, merge); the history and the notes file are small
in-process fakes of the ChangeSource and Publisher protocols. The fake publisher is compare-and-swap, as
the Contents API is with a blob sha, and between one run's read and its write it lets other runs (chosen
by hypothesis) run to the end: every way a later writer can overtake an earlier one.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from patchpush import pipeline, settings
from patchpush.collect import RangeRequest
from patchpush.models import Change, ChangeSet, PublishResult
from patchpush.notes.offline import OfflineWriter
from patchpush.publish import Update

HISTORY = [f"{n:040x}" for n in range(1, 13)]  # oldest first; HISTORY[0] is tagged v1.0.0


class History:
    """A linear branch: a range runs back from `until` to the file's marker, else to the tag."""

    def changes(self, request: RangeRequest) -> ChangeSet:
        head = HISTORY.index(request.until)
        stop = request.last_described or HISTORY[0]
        older = HISTORY[: head + 1]
        base = stop if stop in older else None  # not found: back to the root, as the API walks
        kept = older[older.index(stop) + 1 :] if base else older
        changes = tuple(Change(sha=s, subject=f"fix: change {HISTORY.index(s)}", type="fix") for s in kept)
        return ChangeSet(
            repository="o/r",
            head=HISTORY[head],
            base=base,
            changes=tuple(reversed(changes)),
            newest=HISTORY[head],
        )


@dataclass
class NotesFile:
    text: str | None = None
    versions: list[str] = field(default_factory=list)


class RacingPublisher:
    def __init__(self, file: NotesFile, meanwhile: Callable[[], None]) -> None:
        self._file = file
        self._meanwhile = meanwhile
        self._seen: str | None = None

    def read(self, path: str) -> str | None:
        if path != "CHANGELOG.md":
            return None  # the repository holds no other file (a run also asks for .github/release.yml)
        self._seen = self._file.text
        return self._seen

    def publish(self, update: Update, *, message: str, section: str = "") -> PublishResult:
        self._meanwhile()  # other runs overtake this one between its read and its write
        for _ in range(10):
            new = update(self._seen)
            if new == self._seen:
                return PublishResult(outcome="skipped", file="CHANGELOG.md")
            if self._file.text == self._seen:  # the blob sha still matches
                self._file.text = new
                self._file.versions.append(new)
                return PublishResult(outcome="committed", file="CHANGELOG.md")
            self._seen = self._file.text  # 409: read again
        raise AssertionError("kept changing")


def run_writer(plan: list[tuple[int, list[int]]], index: int, file: NotesFile, tmp: Path) -> str:
    until, overtaken_by = plan[index]
    config = settings.load(
        workspace=tmp,
        env={},
        cli={"mode": "prepend", "file": "CHANGELOG.md", "until": HISTORY[until]},
    )

    pending = list(overtaken_by)

    def meanwhile() -> None:
        while pending:
            run_writer(plan, pending.pop(0), file, tmp)

    stages = pipeline.Stages(
        source=History(), writer=OfflineWriter(), publisher=RacingPublisher(file, meanwhile)
    )
    outcome = pipeline.run(config, stages).outcome
    meanwhile()  # a run that had nothing to write did not hold the others up
    return outcome


@st.composite
def plans(draw: st.DrawFn) -> list[tuple[int, list[int]]]:
    """Writers 0..n-1, each with its `until` and the later writers that overtake it (a tree)."""
    n = draw(st.integers(2, 6))
    untils = [draw(st.integers(0, len(HISTORY) - 1)) for _ in range(n)]
    children: list[list[int]] = [[] for _ in range(n)]
    for writer in range(1, n):
        children[draw(st.integers(0, writer - 1))].append(writer)
    return [(untils[i], children[i]) for i in range(n)]


@given(plan=plans())
def test_overtaken_runs_never_move_the_marker_back_nor_repeat_an_entry(
    plan: list[tuple[int, list[int]]],
) -> None:
    file = NotesFile(text="# Changelog\n")
    with tempfile.TemporaryDirectory() as tmp:
        assert run_writer(plan, 0, file, Path(tmp)) in ("committed", "skipped")
    text = file.text or ""
    newest = max(until for until, _ in plan)
    if newest > 0:
        for n in range(1, newest + 1):
            assert len(re.findall(rf"\bchange {n}\b", text)) == 1, (n, text)
    assert "change 0" not in text  # the tagged commit was described by no one
    marks = [HISTORY.index(re.findall(r"head=([0-9a-f]{40})", version)[0]) for version in file.versions]
    assert marks == sorted(set(marks))
