"""Which merge brought each commit of a range onto the branch: linear in the size of the range.

The first-parent line from the head is the branch itself. A merge on it brought in the commits reachable
from its other parents that the line did not already hold: its pull request's branch, including whatever
that branch merged in turn (another pull request, a back-merge of the main branch). Walking each line
oldest first, every commit is claimed exactly once, by the first merge that reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping

from patchpush.models import Change


def decompose(head: str, commits: Mapping[str, Change]) -> tuple[dict[str, str | None], dict[str, int]]:
    """(owner, brought): for each commit, the merge whose side line holds it (None on the head's line);
    for each merge, how many commits its other parents brought in (0 for a back-merge).

    Commits of `commits` that the head does not reach through `commits` (a range cut by a date or a
    count) count as being on the head's line.
    """
    owner: dict[str, str | None] = {}
    brought: dict[str, int] = {}
    expanded: set[str] = set()
    # Frames: [tip, line (oldest first, filled when the frame starts), next index, owning merge].
    # An explicit stack: merges nest deeper than Python's recursion limit in big repositories.
    stack: list[list[object]] = [[head, None, 0, None]]
    while stack:
        frame = stack[-1]
        line = frame[1]
        if line is None:
            line = frame[1] = _line(str(frame[0]), commits, owner)
        assert isinstance(line, list)
        index = frame[2]
        assert isinstance(index, int)
        if index == len(line):
            stack.pop()
            continue
        sha = line[index]
        parents = commits[sha].parents
        if len(parents) > 1 and sha not in expanded:
            expanded.add(sha)
            brought[sha] = 0
            # Pushed in reverse so that the second parent is walked first (octopus merges).
            for parent in reversed(parents[1:]):
                if parent in commits and parent not in owner:
                    stack.append([parent, None, 0, sha])
            continue
        merge = frame[3]
        assert merge is None or isinstance(merge, str)
        owner[sha] = merge
        if merge is not None:
            brought[merge] += 1
        frame[2] = index + 1
    for sha in commits:
        owner.setdefault(sha, None)
    return owner, brought


def _line(tip: str, commits: Mapping[str, Change], owner: Mapping[str, str | None]) -> list[str]:
    """First parents from `tip` until a commit already claimed or outside the range, oldest first."""
    line = []
    sha: str | None = tip
    while sha is not None and sha in commits and sha not in owner:
        line.append(sha)
        parents = commits[sha].parents
        sha = parents[0] if parents else None
    line.reverse()
    return line
