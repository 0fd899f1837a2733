"""Golden cases: tests/data/offline-*/changeset.json rendered by the offline writer is expected.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchpush.models import ChangeSet
from patchpush.notes.offline import write_offline
from patchpush.notes.render import render_text

DATA = Path(__file__).resolve().parents[1] / "data"
CASES = sorted(p.name for p in DATA.glob("offline-*") if (p / "changeset.json").exists())


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    changes = ChangeSet.from_json((DATA / case / "changeset.json").read_text())
    notes = write_offline(changes)
    assert render_text(notes, changes) == (DATA / case / "expected.md").read_text()


def test_cases_exist() -> None:
    assert len(CASES) >= 2


def test_every_change_is_covered_exactly_once() -> None:
    changes = ChangeSet.from_json((DATA / "offline-mixed" / "changeset.json").read_text())
    notes = write_offline(changes)
    cited = [sha for s in notes.sections for i in s.items for sha in i.shas]
    assert sorted(cited) == sorted(c.sha for c in changes.changes)


def test_changeset_survives_json_round_trip() -> None:
    text = (DATA / "offline-pull-requests" / "changeset.json").read_text()
    assert ChangeSet.from_json(text).to_json() == text


def test_notes_survive_json_round_trip() -> None:
    changes = ChangeSet.from_json((DATA / "offline-mixed" / "changeset.json").read_text())
    notes = write_offline(changes)
    assert type(notes).from_json(notes.to_json()) == notes
