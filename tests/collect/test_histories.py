"""Every change exactly once, on random histories of every shape real repositories have (histories.py).

For each history: the git collector accounts for every commit of the range exactly once (described, or
left out by a named rule); the offline notes cite every described commit in exactly one item and no
left-out commit; each item sits in the section of its weightiest commit; what the history says must be
shown is shown, with the pull requests it came through, and what a rule must leave out is left out.
"""

from __future__ import annotations

import itertools
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import Phase, given, settings

from patchpush.collect import RangeRequest
from patchpush.collect.conventional import parse
from patchpush.collect.git import GitSource
from patchpush.collect.selection import weight
from patchpush.models import ChangeSet, ReleaseNotes, Since
from patchpush.notes import coverage
from patchpush.notes.offline import BREAKING, write_offline
from patchpush.settings import DEFAULT_BOTS
from tests.collect.histories import NOTES_FILE, History, build, steps

_SECTION_WEIGHT = {BREAKING: 4, "Features": 3, "Fixes": 2, "Performance": 1}
_counter = itertools.count()


def collect(history: History, **overrides: Any) -> ChangeSet:
    values: dict[str, Any] = dict(
        since=Since("auto"),
        until="",
        branch="",
        last_described=None,
        max_commits=10_000,
        exclude_authors=DEFAULT_BOTS,
        notes_file=NOTES_FILE,
    )
    values.update(overrides)
    return GitSource(repo=history.path, repository="o/r").changes(RangeRequest(**values))


def range_commits(path: Path) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(path), "rev-list", "main"], capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def own_weights(path: Path) -> dict[str, int]:
    """Each commit's weight as its own message says (the PR title for a merge), not as folded."""
    out = subprocess.run(
        ["git", "-C", str(path), "log", "-z", "--format=%H%x1f%B", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    weights = {}
    for record in filter(None, out.split("\0")):
        sha, message = record.lstrip("\n").split("\x1f", 1)
        subject, _, body = message.partition("\n")
        if subject.startswith("Merge pull request #"):
            message = (body.strip().split("\n", 1)[0] or subject) + "\n"
        weights[sha] = weight(parse(sha=sha, message=message))
    return weights


def assert_invariant(history: History, changes: ChangeSet, notes: ReleaseNotes) -> None:
    described = [c.sha for c in changes.changes]
    left_out = {x.sha: x.rule for x in changes.left_out}
    everything = described + list(left_out)
    assert sorted(everything) == sorted(range_commits(history.path)), "a range commit is lost or doubled"
    found = coverage.check(changes, notes)
    assert not (found.missing or found.repeated or found.leaked or found.unknown), found


def assert_section_rule(history: History, notes: ReleaseNotes) -> None:
    weights = own_weights(history.path)
    for section in notes.sections:
        for item in section.items:
            heaviest = max(weights[sha] for sha in item.shas)
            assert _SECTION_WEIGHT.get(section.title, 0) == heaviest, (section.title, item)


def assert_expectations(history: History, changes: ChangeSet, notes: ReleaseNotes) -> None:
    left_out = {x.sha: x.rule for x in changes.left_out}
    item_of = {sha: item for s in notes.sections for item in s.items for sha in item.shas}
    for sha, fate in history.expect.items():
        if fate == "shown":
            assert sha in item_of, f"{sha[:7]} must be shown, but {left_out.get(sha)} left it out"
        else:
            assert left_out.get(sha) == fate, f"{sha[:7]} must be left out by {fate}, not {left_out.get(sha)}"
    for sha, prs in history.cites.items():
        if sha in item_of:
            assert set(prs) <= set(item_of[sha].prs), (sha[:7], prs, item_of[sha])


@given(plan=steps())
def test_every_change_exactly_once_on_any_history(plan: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        history = build(Path(folder) / f"h{next(_counter)}", plan)
        changes = collect(history)
        notes, repaired = coverage.ensure(changes, write_offline(changes))
        assert repaired == ()
        assert_invariant(history, changes, notes)
        assert_section_rule(history, notes)
        assert_expectations(history, changes, notes)
        # Without the bot filter and the noise rules, nothing is lost either.
        everyone = collect(history, exclude_authors=(), noise=())
        assert_invariant(history, everyone, coverage.ensure(everyone, write_offline(everyone))[0])


def _projection(changes: ChangeSet) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]]]:
    """What both collectors can know about a history: PR bodies, labels and logins only the API knows."""
    described = [
        (c.sha, c.pr_number, c.via_pr, c.type, c.scope, c.breaking, c.description, c.pr_title)
        for c in changes.changes
    ]
    return sorted(described), sorted((x.sha, x.rule) for x in changes.left_out)


# Parity needs the GitHub collector to hand `choose` every range commit (path filters as `touching`),
# the PR whose base is the branch, and `Change.files` of trailer commits: the `api` helper's branch.
@settings(max_examples=10, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(plan=steps())
def test_both_collectors_give_the_same_changeset(plan: list[tuple[Any, ...]]) -> None:
    from patchpush.collect.github_api import GitHubApiSource
    from patchpush.github_client import connect
    from tests.fakes.github_server import GitHubEmulator

    with tempfile.TemporaryDirectory() as folder:
        history = build(Path(folder) / "work", plan)
        bare = Path(folder) / "remote.git"
        subprocess.run(["git", "clone", "-q", "--bare", str(history.path), str(bare)], check=True)
        with GitHubEmulator(bare, owner="o", name="r") as emu:
            for pull in history.pulls:
                emu.add_pull_request(
                    number=pull.number,
                    title=pull.title or "",
                    body="",
                    author=pull.author,
                    merge_commit_sha=history.shas[pull.merge],
                    commits=[history.shas[m] for m in pull.commits],
                    head_ref=pull.head_ref,
                )
            client = connect(
                token="test-token",
                api_url=emu.base_url,
                repository="o/r",
                branch="main",
                server_url=emu.base_url,
            )
            request = RangeRequest(
                since=Since("auto"),
                until="",
                branch="main",
                last_described=None,
                max_commits=10_000,
                exclude_authors=DEFAULT_BOTS,
                notes_file=NOTES_FILE,
            )
            through_api = GitHubApiSource(client=client).changes(request)
        assert _projection(through_api) == _projection(collect(history))
