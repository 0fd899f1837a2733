"""Golden cases: tests/data/offline-*/changeset.json, described with the case's settings.json and
release.yml (when it has them), renders to expected.md; what the rules left out is expected-left-out.txt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patchpush.models import ChangeSet, ReleaseNotes
from patchpush.notes import layout, release_config
from patchpush.notes.offline import write_offline
from patchpush.notes.render import render_text
from patchpush.settings import DEFAULTS, _list, _section_titles

DATA = Path(__file__).resolve().parents[1] / "data"
CASES = sorted(p.name for p in DATA.glob("offline-*") if (p / "changeset.json").exists())


def describe(case: Path) -> tuple[ChangeSet, ReleaseNotes]:
    """The pipeline's notes steps for one case: leave out, write offline, arrange."""
    changes = ChangeSet.from_json((case / "changeset.json").read_text())
    raw = dict(DEFAULTS)
    if (case / "settings.json").exists():
        raw.update(json.loads((case / "settings.json").read_text()))
    release = case / "release.yml"
    rules = layout.rules(
        maintenance=raw["maintenance"],  # type: ignore[arg-type]
        hide=_list(raw["hide-sections"]),
        titles=_section_titles(raw["section-titles"]),
        release=release_config.parse(release.read_text() if release.exists() else None),
    )
    kept = layout.leave_out(changes, rules)
    return kept, layout.arrange(write_offline(kept), kept, rules)


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    changes, notes = describe(DATA / case)
    assert render_text(notes, changes) == (DATA / case / "expected.md").read_text()
    left_out = DATA / case / "expected-left-out.txt"
    expected = left_out.read_text().splitlines() if left_out.exists() else []
    assert [f"{x.sha[:7]} {x.rule}" for x in changes.left_out] == expected


@pytest.mark.parametrize("case", CASES)
def test_every_change_is_described_once_or_left_out_by_a_rule(case: str) -> None:
    original = ChangeSet.from_json((DATA / case / "changeset.json").read_text())
    changes, notes = describe(DATA / case)
    cited = [sha for s in notes.sections for i in s.items for sha in i.shas]
    assert sorted(cited) == sorted(c.sha for c in changes.changes)
    assert sorted(cited + [x.sha for x in changes.left_out]) == sorted(c.sha for c in original.changes)


def test_cases_exist() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("case", CASES)
def test_changeset_survives_json_round_trip(case: str) -> None:
    # Loaded and saved again, not compared as text: fields added later take their defaults.
    changes = ChangeSet.from_json((DATA / case / "changeset.json").read_text())
    assert ChangeSet.from_json(changes.to_json()) == changes


def test_notes_survive_json_round_trip() -> None:
    _, notes = describe(DATA / "offline-maintenance-collapse")
    assert any(s.collapsed for s in notes.sections)
    assert type(notes).from_json(notes.to_json()) == notes
