"""Run the GitHub collector over any bare repository, the way the action does, for tests that compare it
with the git collector on the same history.

    changes = collect_through_api(bare, request, pulls=[{"number": 1, "title": "...", "body": "",
                                                          "merge_commit_sha": sha}])

The collector talks to the loopback emulator (tests/fakes/github_server.py) through the real PyGithub
client, over HTTP. Each entry of `pulls` is the keyword arguments of `GitHubEmulator.add_pull_request`
(number, title, body, merge_commit_sha, commits, author, labels, base, state, head_ref, merged_at):
a merged PR's branch commits default to what its merge commit brought in, as GitHub records them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from patchpush.collect import RangeRequest
from patchpush.collect.github_api import GitHubApiSource
from patchpush.github_client import connect
from patchpush.models import ChangeSet
from tests.fakes.github_server import GitHubEmulator

REPOSITORY = "octo-org/widgets"


@contextmanager
def emulated(
    bare: Path,
    *,
    pulls: Sequence[Mapping[str, Any]] = (),
    users: Mapping[str, str] | None = None,
    **options: Any,
) -> Iterator[GitHubEmulator]:
    """The emulator serving `bare` with `pulls` recorded and `users` (e-mail -> login) known."""
    with GitHubEmulator(bare, **options) as emu:
        for email, login in (users or {}).items():
            emu.add_user(login, email=email)
        for pull in pulls:
            emu.add_pull_request(**pull)
        yield emu


def api_changes(emu: GitHubEmulator, request: RangeRequest, *, branch: str = "main") -> ChangeSet:
    """The GitHub collector's ChangeSet from a running emulator."""
    client = connect(
        token="test-token",
        api_url=emu.base_url,
        repository=REPOSITORY,
        branch=request.branch or branch,
        server_url="https://github.com",
    )
    return GitHubApiSource(client=client).changes(request)


def collect_through_api(
    bare: Path,
    request: RangeRequest,
    *,
    pulls: Sequence[Mapping[str, Any]] = (),
    users: Mapping[str, str] | None = None,
    branch: str = "main",
) -> ChangeSet:
    """The GitHub collector's ChangeSet for `request` over `bare` (a bare repository, or a clone's .git)."""
    with emulated(bare, pulls=pulls, users=users) as emu:
        return api_changes(emu, request, branch=branch)


def bare_copy(work: Path, target: Path) -> Path:
    """A bare clone of the working repository `work` (all branches and tags), for the emulator to serve."""
    subprocess.run(["git", "clone", "-q", "--bare", "--no-tags", str(work), str(target)], check=True)
    subprocess.run(["git", "--git-dir", str(target), "fetch", "-q", "--tags", str(work)], check=True)
    return target


def shape(changes: ChangeSet) -> dict[str, Any]:
    """What must be equal between the two collectors for one history: which commits are described and
    through which PR, what was left out and by which rule, and the range. Titles, bodies, labels and
    logins are left out on purpose: GitHub knows them and a clone does not (and a PR's labels or title
    may give an untyped commit its type: compare histories whose PRs carry no labels and whose titles
    are the subjects' own)."""
    return {
        "head": changes.head,
        "base": changes.base,
        "truncated": changes.truncated,
        "changes": [
            (c.sha, c.pr_number, getattr(c, "via_pr", None), tuple(c.parents), c.type, c.breaking)
            for c in changes.changes
        ],
        "left_out": sorted((x.sha, x.rule) for x in changes.left_out),
        "excluded": changes.excluded,
        "newest": changes.newest,
    }
