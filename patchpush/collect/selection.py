"""Which commits a run describes: the shared rules both collectors apply after reading the history."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from patchpush.collect import RangeRequest
from patchpush.collect.conventional import is_excluded_author, is_own_commit, parse
from patchpush.models import Change


def select(raw: Iterable[Change], request: RangeRequest) -> tuple[list[Change], int, str | None]:
    """Drop our own commits, bots, plain merges and reverted pairs; fold PR branches into their PR.

    Returns the kept changes (newest first), how many were left out, and the newest commit that is
    not our own (see ChangeSet.newest).
    """
    changes = list(raw)
    total = len(changes)
    newest = next((c.sha for c in changes if not is_own_commit(c.body)), None)
    excluded = {a.lower() for a in request.exclude_authors}
    changes = [
        c
        for c in changes
        if not is_own_commit(c.body)
        and not (excluded and is_excluded_author(excluded, c.author_login, c.author_name, c.author_email))
    ]
    changes = _fold_pull_request_branches(changes)
    changes = _cancel_reverts(changes)
    return changes, total - len(changes), newest


def _fold_pull_request_branches(changes: list[Change]) -> list[Change]:
    """A PR merge commit stands for the branch it brought in; other merges add nothing of their own.

    Commits reached through a PR merge's second parent (and not through the first-parent line) are
    the PR's own commits: they are folded into the merge so the PR is described once.
    """
    if not any(len(c.parents) >= 2 for c in changes):
        return changes
    by_sha = {c.sha: c for c in changes}
    mainline: set[str] = set()
    if changes:
        sha: str | None = changes[0].sha
        while sha is not None and sha in by_sha:
            mainline.add(sha)
            parents = by_sha[sha].parents
            sha = parents[0] if parents else None
    claimed: dict[str, int] = {}
    # Oldest merge first, so a later merge does not claim what an earlier one brought in.
    for merge in reversed(changes):
        if len(merge.parents) < 2 or merge.pr_number is None:
            continue
        stack = list(merge.parents[1:])
        while stack:
            sha = stack.pop()
            if sha in mainline or sha in claimed or sha not in by_sha:
                continue
            claimed[sha] = merge.pr_number
            stack.extend(by_sha[sha].parents)
    kept = []
    for change in changes:
        if change.sha in claimed:
            continue
        if len(change.parents) >= 2 and change.pr_number is None:
            continue
        kept.append(change)
    return kept


def _cancel_reverts(changes: list[Change]) -> list[Change]:
    """A revert and the commit it reverts, both in range, cancel out: neither reached users."""
    shas = {c.sha for c in changes}
    gone: set[str] = set()
    for change in changes:
        if change.reverts:
            target = next((s for s in shas if s.startswith(change.reverts)), None)
            if target is not None:
                gone.update((change.sha, target))
    return [c for c in changes if c.sha not in gone]


def with_pull_request(
    change: Change,
    *,
    number: int,
    title: str | None,
    body: str | None,
    labels: Iterable[str],
    author: str | None,
) -> Change:
    """The change re-read through its pull request: the PR title is the better headline."""
    headline = title or change.description
    reparsed = parse(sha=change.sha, message=headline + "\n\n" + change.body)
    return dataclasses.replace(
        change,
        pr_number=number,
        pr_title=title,
        pr_body=body,
        pr_labels=tuple(labels),
        pr_author=author,
        type=reparsed.type or change.type,
        scope=reparsed.scope or change.scope,
        breaking=change.breaking or reparsed.breaking,
        description=reparsed.description if reparsed.type else change.description,
    )
