"""One commit of a GraphQL history page as a `Change`: parsed as the git collector parses `git log`,
then told what only GitHub knows about the pull request its message names."""

from __future__ import annotations

import dataclasses
from typing import Any

from patchpush.collect.conventional import parse
from patchpush.collect.selection import with_pull_request
from patchpush.models import Change

_BREAKING_LABELS = {"breaking", "breaking-change", "breaking change", "semver:major", "major"}
_LABEL_TYPES = {
    "bug": "fix",
    "enhancement": "feat",
    "feature": "feat",
    "documentation": "docs",
    "dependencies": "deps",
    "performance": "perf",
    "security": "security",
}


def commit_change(node: dict[str, Any], *, branch: str) -> Change:
    author = node.get("author") or {}
    change = parse(
        sha=node["oid"],
        message=node["message"],
        author_name=author.get("name") or "",
        author_email=author.get("email") or "",
        author_login=(author.get("user") or {}).get("login"),
        # The author's date, as `git log --format=%aI` gives it.
        date=_git_date(author.get("date") or ""),
        parents=commit_parents(node),
    )
    pr = _pull_request(node, change.pr_number, branch)
    if pr is None:
        return change
    labels = [label["name"] for label in (pr.get("labels") or {}).get("nodes", [])]
    change = with_pull_request(
        change,
        number=pr["number"],
        title=pr.get("title"),
        body=pr.get("body"),
        labels=labels,
        author=_login(pr.get("author")),
    )
    lowered = {label.lower() for label in labels}
    if lowered & _BREAKING_LABELS and not change.breaking:
        change = dataclasses.replace(change, breaking=True)
    if change.type is None:
        label_type = next((_LABEL_TYPES[x] for x in sorted(lowered) if x in _LABEL_TYPES), None)
        if label_type:
            change = dataclasses.replace(change, type=label_type)
    return change


def _pull_request(node: dict[str, Any], number: int | None, branch: str) -> dict[str, Any] | None:
    """The pull request that brought this commit, among those GitHub associates with it.

    Only the pull request the commit's message names (merge or squash subject) is taken, so that a
    commit belongs to the same PR through the API as on a clone (rebase-merged commits name none). Of
    the candidates, the merged one whose base is the described branch wins; an open PR that holds the
    commit, or one merged into another branch first, never does (release-drafter#1354)."""
    if number is None:
        return None
    nodes = ((node.get("associatedPullRequests") or {}).get("nodes")) or []
    named = [pr for pr in nodes if pr.get("number") == number]
    return max(named, key=lambda pr: (bool(pr.get("merged")), pr.get("baseRefName") == branch), default=None)


def _login(actor: dict[str, Any] | None) -> str | None:
    """An actor's login as REST and commit e-mails spell it: GraphQL names apps without "[bot]"."""
    if not actor or not actor.get("login"):
        return None
    login = str(actor["login"])
    return f"{login}[bot]" if actor.get("__typename") == "Bot" and not login.endswith("[bot]") else login


def _git_date(value: str) -> str:
    return value[:-1] + "+00:00" if value.endswith("Z") else value


def commit_parents(node: dict[str, Any]) -> tuple[str, ...]:
    return tuple(p["oid"] for p in node["parents"]["nodes"])
