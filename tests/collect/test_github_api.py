"""The GitHub collector against the loopback emulator, through the real PyGithub client: the same
ChangeSet as the git collector for the same history, and the pull requests only GitHub knows about."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from patchpush.collect import RangeRequest
from patchpush.collect.conventional import OWN_TRAILER
from patchpush.collect.git import GitSource
from patchpush.errors import CollectError
from patchpush.models import ChangeSet, Since
from patchpush.settings import DEFAULT_BOTS
from tests.collect.api_harness import api_changes, bare_copy, collect_through_api, emulated, shape
from tests.fakes.github_server import Fault, GitHubEmulator
from tests.gitrepo import GitRepo


def request(**overrides: Any) -> RangeRequest:
    values: dict[str, Any] = dict(
        since=Since("auto"),
        until="",
        branch="main",
        last_described=None,
        max_commits=2000,
        exclude_authors=DEFAULT_BOTS,
    )
    values.update(overrides)
    return RangeRequest(**values)


def both(
    repo: GitRepo, tmp_path: Path, pulls: list[dict[str, Any]] | None = None, **overrides: Any
) -> tuple[ChangeSet, ChangeSet]:
    bare = bare_copy(repo.path, tmp_path / "served.git")
    wanted = request(**overrides)
    return GitSource(repo=repo.path).changes(wanted), collect_through_api(bare, wanted, pulls=pulls or [])


def graphql_bodies(emu: GitHubEmulator) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in emu.requests if r.path.endswith("/graphql")]


def test_a_branch_forked_long_before_the_tag_is_in_the_range_as_on_a_clone(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.commit("chore: initial import", day=1)
    repo.git("checkout", "-q", "-b", "long-lived")
    early = repo.commit("feat: started before the release", day=2)
    repo.git("checkout", "-q", "main")
    repo.commit("fix: shipped in 1.0", day=3)
    repo.tag("v1.0.0")
    repo.commit("docs: after the release", day=4)
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branch 'long-lived'", "long-lived")
    git, api = both(repo, tmp_path)
    assert shape(api) == shape(git)
    # The branch commit is older than the tag, so GitHub lists it after the tag: it is still in range,
    # and the tag's own commit is not.
    subjects = [c.subject for c in api.changes]
    assert early in [c.sha for c in api.changes]
    assert "fix: shipped in 1.0" not in subjects and "docs: after the release" in subjects
    assert api.base == repo.git("rev-parse", "v1.0.0")


def test_a_pr_merged_with_a_merge_commit_folds_the_same_way(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("chore: initial import")
    repo.tag("v1.0.0")
    merge = repo.merge_branch(
        "topic", ["feat: part one", "fix: part two"], message="Merge pull request #4 from octo/topic\n\nTopic"
    )
    pulls = [{"number": 4, "title": "Topic", "body": "Why", "merge_commit_sha": merge, "author": "bob"}]
    git, api = both(repo, tmp_path, pulls)
    assert shape(api) == shape(git)
    assert api.by_sha()[merge].pr_body == "Why" and git.by_sha()[merge].pr_body is None


def test_octopus_squash_and_rebase_merges_give_the_same_changeset(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("chore: initial import")
    repo.tag("v1.0.0")
    for name in ("a", "b"):
        repo.git("checkout", "-q", "-b", name, "main")
        repo.commit(f"feat: topic {name}")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge branches 'a' and 'b'", "a", "b")
    octopus = repo.head()
    squash = repo.commit("fix: squashed change (#7)")
    rebased = [repo.commit("feat: rebased one"), repo.commit("feat: rebased two")]
    pulls = [
        {"number": 7, "title": "fix: squashed change", "body": "Why", "merge_commit_sha": squash},
        {
            "number": 8,
            "title": "Rebased work",
            "body": "",
            "merge_commit_sha": rebased[-1],
            "commits": rebased,
        },
    ]
    git, api = both(repo, tmp_path, pulls)
    assert shape(api) == shape(git)
    by_sha = api.by_sha()
    assert len(repo.git("rev-list", "--parents", "-n", "1", octopus).split()) == 4
    # The third parent's commit is reached, as on a clone.
    assert {c.subject for c in api.changes} >= {"feat: topic a", "feat: topic b"}
    # What only GitHub knows is kept: the squash commit's PR body; rebased commits name no PR.
    assert by_sha[squash].pr_body == "Why" and git.by_sha()[squash].pr_body is None
    assert [by_sha[s].pr_number for s in rebased] == [None, None]


def test_the_pr_the_commit_names_wins_over_open_and_unrelated_ones(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("chore: initial import")
    repo.tag("v1.0.0")
    squash = repo.commit("feat: the real change (#12)")
    bare = bare_copy(repo.path, tmp_path / "served.git")
    pulls = [
        # Older PRs that hold the same commit: an open one, and one merged into another branch.
        {"number": 3, "title": "WIP: unrelated", "body": "", "commits": [squash], "state": "open"},
        {"number": 5, "title": "Backport", "body": "", "merge_commit_sha": squash, "base": "v1.x"},
        {
            "number": 12,
            "title": "feat: the real change",
            "body": "Body 12",
            "merge_commit_sha": squash,
            "labels": ["enhancement"],
            "author": "alice",
        },
    ]
    with emulated(bare, pulls=pulls) as emu:
        change = api_changes(emu, request()).by_sha()[squash]
        query = graphql_bodies(emu)[0]["query"]
    assert (change.pr_number, change.pr_body, change.pr_author, change.pr_labels) == (
        12,
        "Body 12",
        "alice",
        ("enhancement",),
    )
    assert "associatedPullRequests(first: 10)" in query and "baseRefName" in query


def test_a_bot_pull_request_carries_its_authors_login_whoever_merged_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.commit("chore: initial import")
    repo.tag("v1.0.0")
    bot = "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"
    repo.git("checkout", "-q", "-b", "dependabot/pip/lib")
    bump = repo.commit("Bump lib from 1.0 to 1.1", author=bot)
    repo.git("checkout", "-q", "main")
    repo.merge("dependabot/pip/lib", message="Merge pull request #9 from octo/dependabot/pip/lib")
    merge = repo.head()
    bare = bare_copy(repo.path, tmp_path / "served.git")
    pulls = [
        {"number": 9, "title": "Bump lib", "body": "", "merge_commit_sha": merge, "author": "dependabot[bot]"}
    ]
    with emulated(bare, pulls=pulls) as emu:
        raw = api_changes(emu, request(exclude_authors=()))
    by_sha = raw.by_sha()
    assert by_sha[merge].pr_author == "dependabot[bot]"  # GraphQL says "dependabot", a Bot
    # The branch commit is in the history handed to choose(), with its bot author, as on a clone.
    git = GitSource(repo=repo.path).changes(request(exclude_authors=()))
    assert shape(raw) == shape(git)
    assert git.by_sha()[merge].pr_author is None
    assert repo.git("rev-parse", f"{merge}^2") == bump


def test_a_commit_with_our_trailer_gets_its_files_one_request_each(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("chore: initial import")
    repo.tag("v1.0.0")
    ours = repo.commit(f"docs: update ai_patch.md\n\n{OWN_TRAILER}", files={"ai_patch.md": "notes"})
    theirs = repo.commit(f"feat: sneaky\n\n{OWN_TRAILER}", files={"src/app.py": "x", "ai_patch.md": "y"})
    repo.commit("fix: plain")
    bare = bare_copy(repo.path, tmp_path / "served.git")
    with emulated(bare) as emu:
        emu.reset_requests()
        changes = api_changes(emu, request())
        rest = [r.path for r in emu.requests if not r.path.endswith("/graphql")]
    # Only the two commits with the trailer cost a request; the rule reads their files.
    assert sorted(rest) == sorted(f"/repos/octo-org/widgets/commits/{s}" for s in (ours, theirs))
    assert "fix: plain" in [c.subject for c in changes.changes]


def test_history_pages_shrink_on_timeouts_and_keep_the_smaller_size(repo: GitRepo, tmp_path: Path) -> None:
    for n in range(60):
        repo.commit(f"fix: change {n}")
    bare = bare_copy(repo.path, tmp_path / "served.git")
    with emulated(bare) as emu:
        emu.graphql_max_history_page = 25
        changes = api_changes(emu, request())
        sizes = [body["variables"]["first"] for body in graphql_bodies(emu)]
        statuses = [r.status for r in emu.requests if r.path.endswith("/graphql")]
    assert len(changes.changes) == 60
    assert sizes == [100, 50, 25, 25, 25]
    assert statuses == [502, 502, 200, 200, 200]


@pytest.mark.parametrize("status", [502, 504, 200])
def test_a_query_that_times_out_even_at_ten_commits_fails_clearly(
    repo: GitRepo, tmp_path: Path, status: int
) -> None:
    repo.commit("fix: one")
    bare = bare_copy(repo.path, tmp_path / "served.git")
    with emulated(bare) as emu:
        emu.graphql_max_history_page = 5
        emu.graphql_timeout_status = status
        with pytest.raises(CollectError) as failure:
            api_changes(emu, request())
        sizes = [body["variables"]["first"] for body in graphql_bodies(emu)]
    assert sizes == [100, 50, 25, 10]  # no retries of the same size: each would time out again
    message = failure.value.message
    assert message.startswith(
        "GitHub timed out reading the history of octo-org/widgets@main, even 10 commits"
    )
    said = "(" if status == 200 else f"({status} "
    assert f"{said}Something went wrong while executing your query" in message


def test_a_spent_graphql_limit_names_the_reset_time(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("fix: one")
    bare = bare_copy(repo.path, tmp_path / "served.git")
    with emulated(bare) as emu:
        emu.rate_limit = 0
        with pytest.raises(CollectError) as failure:
            api_changes(emu, request())
        answer = emu.requests[-1]
    assert answer.status == 200  # GitHub's GraphQL answers a spent limit with 200 and a RATE_LIMITED error
    assert "rate limit exhausted while reading the history" in failure.value.message
    assert "resets at " in failure.value.message and "UTC" in failure.value.message


def test_the_last_described_commit_starts_the_range_and_a_rewritten_one_falls_back_to_the_tag(
    repo: GitRepo, tmp_path: Path
) -> None:
    repo.commit("chore: initial import")
    repo.tag("v1.0.0")
    described = repo.commit("feat: described last time")
    repo.commit("fix: new since then")
    git, api = both(repo, tmp_path, last_described=described)
    assert shape(api) == shape(git)
    assert api.base == described and [c.subject for c in api.changes] == ["fix: new since then"]
    gone = "f" * 40  # history was rewritten: the recorded commit is no ancestor of the head any more
    git, api = both(repo, tmp_path / "again", last_described=gone)
    assert shape(api) == shape(git)
    assert api.base == repo.git("rev-parse", "v1.0.0") and len(api.changes) == 2


def test_annotated_tags_name_their_commits_for_since_and_until(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("chore: initial import")
    repo.git("tag", "-a", "-m", "One", "v1.0.0")
    repo.commit("feat: in 1.1")
    repo.git("tag", "-a", "-m", "One one", "v1.1.0")
    repo.commit("fix: after 1.1")
    git, api = both(repo, tmp_path, since=Since("ref", ref="v1.0.0"), until="v1.1.0")
    assert shape(api) == shape(git)
    assert [c.subject for c in api.changes] == ["feat: in 1.1"]
    assert (api.base, api.head_tag) == (repo.git("rev-parse", "v1.0.0^{commit}"), "v1.1.0")


def test_a_secondary_limit_too_long_to_wait_names_when_to_come_back(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit("fix: one")
    bare = bare_copy(repo.path, tmp_path / "served.git")
    with emulated(bare) as emu:
        emu.add_fault(Fault("rate_limit", path="/graphql", retry_after=600, status=403))
        with pytest.raises(CollectError) as failure:
            api_changes(emu, request())
    said = failure.value.message.split("resets at ")[1].split(" UTC")[0]
    hours, minutes, seconds = (int(x) for x in said.split(":"))
    now = datetime.now(UTC)
    expected = (now + timedelta(seconds=600)).replace(microsecond=0)
    told = expected.replace(hour=hours, minute=minutes, second=seconds)
    # Retry-After's ten minutes, not x-ratelimit-reset's hour: the primary limit is not spent.
    assert abs((told - expected).total_seconds() + 43_200) % 86_400 - 43_200 < 30


@pytest.mark.parametrize("days_apart", [0, 30])
def test_since_a_tag_on_a_release_branch_leaves_out_what_the_tag_holds(
    repo: GitRepo, tmp_path: Path, days_apart: int
) -> None:
    repo.commit("chore: initial import", day=1)
    shared = repo.commit("feat: in both", day=2)
    repo.git("checkout", "-q", "-b", "release-1.x")
    repo.commit("fix: backported", day=3 + days_apart)
    repo.tag("v1.0.1")
    repo.git("checkout", "-q", "main")
    repo.commit("feat: only on main", day=4 + days_apart)
    repo.commit("fix: later on main", day=5 + days_apart)
    git, api = both(repo, tmp_path, since=Since("ref", ref="v1.0.1"))
    assert shape(api) == shape(git)
    # The tag is no ancestor of main: `git log v1.0.1..main` keeps main's own commits only.
    assert [c.subject for c in api.changes] == ["fix: later on main", "feat: only on main"]
    assert shared not in api.by_sha()
