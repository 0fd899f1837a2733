"""The git collector on real repositories built in tmp_path."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from patchpush.collect import RangeRequest
from patchpush.collect.conventional import OWN_TRAILER
from patchpush.collect.git import GitSource
from patchpush.errors import CollectError
from patchpush.models import Since
from patchpush.settings import DEFAULT_BOTS
from tests.gitrepo import GitRepo


def request(**overrides: object) -> RangeRequest:
    values: dict[str, object] = dict(
        since=Since("auto"),
        until="",
        branch="",
        last_described=None,
        max_commits=2000,
        exclude_authors=DEFAULT_BOTS,
    )
    values.update(overrides)
    return RangeRequest(**values)  # type: ignore[arg-type]


def subjects(repo: GitRepo, **overrides: object) -> list[str]:
    return [c.subject for c in GitSource(repo=repo.path).changes(request(**overrides)).changes]


def test_auto_starts_after_the_last_tag(repo: GitRepo) -> None:
    repo.commit("feat: one")
    repo.tag("v1.0.0")
    repo.commit("fix: two")
    repo.commit("feat: three")
    assert subjects(repo) == ["feat: three", "fix: two"]


def test_auto_on_a_tagged_head_describes_since_the_previous_tag(repo: GitRepo) -> None:
    repo.commit("feat: one")
    repo.tag("v1.0.0")
    repo.commit("fix: two")
    repo.tag("v1.1.0")
    changes = GitSource(repo=repo.path).changes(request())
    assert [c.subject for c in changes.changes] == ["fix: two"]
    assert changes.head_tag == "v1.1.0"


def test_auto_prefers_the_last_described_commit(repo: GitRepo) -> None:
    repo.commit("feat: one")
    described = repo.commit("fix: two")
    repo.commit("feat: three")
    assert subjects(repo, last_described=described) == ["feat: three"]


def test_auto_without_tags_takes_the_whole_history_capped(repo: GitRepo) -> None:
    for n in range(5):
        repo.commit(f"fix: {n}")
    changes = GitSource(repo=repo.path).changes(request(max_commits=3))
    assert [c.subject for c in changes.changes] == ["fix: 4", "fix: 3", "fix: 2"]
    assert changes.truncated


def test_since_a_ref_and_until_a_ref(repo: GitRepo) -> None:
    first = repo.commit("feat: one")
    second = repo.commit("fix: two")
    repo.commit("feat: three")
    assert subjects(repo, since=Since("ref", ref=first), until=second) == ["fix: two"]


def test_since_a_date(repo: GitRepo) -> None:
    repo.commit("feat: old", day=1)
    repo.commit("fix: new", day=10)
    since = Since("date", date=datetime(2026, 1, 5, tzinfo=UTC))
    assert subjects(repo, since=since) == ["fix: new"]


def test_unknown_since_ref_is_a_clear_error(repo: GitRepo) -> None:
    repo.commit("feat: one")
    with pytest.raises(CollectError, match="input 'since' names 'v9', which is not a commit"):
        subjects(repo, since=Since("ref", ref="v9"))


def test_bots_and_own_commits_are_left_out(repo: GitRepo) -> None:
    repo.commit("feat: human")
    repo.commit(
        "chore(deps): bump x", author="dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"
    )
    repo.commit(f"docs: update ai_patch.md\n\n{OWN_TRAILER}")
    changes = GitSource(repo=repo.path).changes(request())
    assert [c.subject for c in changes.changes] == ["feat: human"]
    assert changes.excluded == 2


def test_exclude_authors_none_keeps_bots(repo: GitRepo) -> None:
    repo.commit("chore(deps): bump x", author="dependabot[bot] <bot@example.test>")
    assert subjects(repo, exclude_authors=()) == ["chore(deps): bump x"]


def test_path_filters(repo: GitRepo) -> None:
    repo.commit("feat(web): page", files={"web/index.html": "x"})
    repo.commit("feat(api): route", files={"api/routes.py": "x"})
    repo.commit("docs: api guide", files={"api/README.md": "x"})
    repo.commit("chore: both", files={"web/a.css": "x", "api/b.py": "y"})
    assert subjects(repo, include_paths=("api/",)) == ["chore: both", "docs: api guide", "feat(api): route"]
    assert subjects(repo, include_paths=("api",), exclude_paths=("**/*.md",)) == [
        "chore: both",
        "feat(api): route",
    ]
    assert subjects(repo, exclude_paths=("web",)) == ["chore: both", "docs: api guide", "feat(api): route"]


def test_a_merged_pull_request_is_one_change_carrying_its_branch(repo: GitRepo) -> None:
    repo.commit("chore: init")
    repo.tag("v0")
    repo.merge_branch(
        "feature", ["wip", "more wip"], message="Merge pull request #7 from alice/feature\n\nfeat: add export"
    )
    repo.merge_branch("topic", ["fix: topic fix"], message="Merge branch 'topic'")
    collected = GitSource(repo=repo.path).changes(request())
    changes = collected.changes
    assert [(c.subject, c.pr_number) for c in changes] == [
        ("fix: topic fix", None),
        ("Merge pull request #7 from alice/feature", 7),
        ("more wip", 7),
        ("wip", 7),
    ]
    assert changes[1].type == "feat"
    assert [(x.subject, x.rule) for x in collected.left_out] == [("Merge branch 'topic'", "merge")]


def test_a_revert_and_what_it_reverts_cancel_out_inside_the_range(repo: GitRepo) -> None:
    repo.commit("chore: init")
    repo.tag("v0")
    bad = repo.commit("feat: risky")
    repo.commit("fix: keep me")
    repo.git("revert", "--no-edit", bad)
    assert subjects(repo) == ["fix: keep me"]


def test_a_revert_of_an_older_release_is_kept(repo: GitRepo) -> None:
    bad = repo.commit("feat: risky")
    repo.tag("v1")
    repo.git("revert", "--no-edit", bad)
    changes = GitSource(repo=repo.path).changes(request()).changes
    assert [(c.type, c.reverts) for c in changes] == [("revert", bad)]


def test_not_a_repository(tmp_path: object) -> None:
    from pathlib import Path

    with pytest.raises(CollectError):
        GitSource(repo=Path(str(tmp_path))).changes(request())
