"""The invariant check after writing: a writer that loses a change is a bug, repaired and named."""

from __future__ import annotations

import dataclasses

from patchpush import pipeline, settings
from patchpush.models import ChangeSet, ReleaseNotes, Section
from patchpush.notes import coverage
from patchpush.notes.offline import write_offline
from tests.gitrepo import GitRepo


class _LosingWriter:
    """A writer with a bug: it forgets the first item of the first section and cites a left-out commit."""

    def __init__(self, leak: str) -> None:
        self.leak = leak

    def write(self, changes: ChangeSet) -> ReleaseNotes:
        notes = write_offline(changes)
        first, *rest = notes.sections
        kept = first.items[1:]
        leaky = dataclasses.replace(kept[0], shas=(*kept[0].shas, self.leak)) if kept else None
        sections = (Section(first.title, (leaky, *kept[1:])) if leaky else None, *rest)
        return dataclasses.replace(notes, sections=tuple(s for s in sections if s is not None))


def test_a_lost_change_comes_back_in_its_section_with_a_warning_naming_a_bug(repo: GitRepo) -> None:
    repo.commit("chore: init")
    repo.tag("v1")
    repo.commit("feat: first feature")
    lost = repo.commit("feat: second feature")  # the newest: the first item, which the writer forgets
    bot = repo.commit("chore(deps): bump", author="dependabot[bot] <bot@example.test>")
    config = settings.load(workspace=repo.path, env={}, cli={"dry-run": "true"}, backend="git")
    stages = pipeline.build(config)
    stages = dataclasses.replace(stages, writer=_LosingWriter(bot))
    report = pipeline.run(config, stages)
    assert report.notes is not None and report.writer is not None
    features = next(s for s in report.notes.sections if s.title == "Features")
    assert lost in [sha for item in features.items for sha in item.shas]
    assert bot not in [sha for s in report.notes.sections for i in s.items for sha in i.shas]
    assert report.writer.coverage_repaired == 1
    assert any("bug in patch-push" in w and lost[:7] in w for w in report.warnings)
    assert any("bug in patch-push" in w and bot[:7] in w for w in report.warnings)
    assert "second feature" in report.notes_markdown


def test_sound_notes_pass_untouched(repo: GitRepo) -> None:
    repo.commit("chore: init")
    repo.commit("fix: one")
    from patchpush.collect import RangeRequest
    from patchpush.collect.git import GitSource
    from patchpush.models import Since

    changes = GitSource(repo=repo.path).changes(
        RangeRequest(since=Since("auto"), until="", branch="", last_described=None, max_commits=10)
    )
    notes = write_offline(changes)
    assert coverage.ensure(changes, notes) == (notes, ())
    assert not coverage.check(changes, notes)
