"""A pull request's item: which merges are release or integration pull requests, which commits a
merge brought in, and how the lead commit reads for the whole pull request (section, text)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

from patchpush.collect.conventional import parse, subject_pr
from patchpush.models import Change

# A pull request whose title names a release or an integration is described commit by commit.
_INTEGRATION_TITLE = re.compile(
    r"^\W*(?:release\b|prepare (?:for )?(?:the )?release\b|integrat\w*\b|sync\b.*\bwith\b|merge\b.+\binto\b)"
    r"|\brelease[ /-]v?\d",
    re.IGNORECASE,
)
_INTEGRATION_BRANCH = re.compile(
    # Not main or master: a contributor's pull request often comes from their fork's main branch.
    r"^(?:develop|development|dev|next|staging|releases?[/-].+|v\d+(?:\.\d+)*(?:\.x)?)$",
    re.IGNORECASE,
)
_MERGE_FROM = re.compile(r"^Merge pull request #\d+ from [^/\s]+/(?P<branch>\S+)")
# Section weight for choosing a pull request's section (Breaking > Features > Fixes > Performance).
_WEIGHTS = {"feat": 3, "feature": 3, "fix": 2, "bugfix": 2, "hotfix": 2, "perf": 1}
_BREAKING_WEIGHT = 4


def weight(change: Change) -> int:
    """How a change ranks for its pull request's section: breaking, feature, fix, performance, the rest."""
    return _BREAKING_WEIGHT if change.breaking else _WEIGHTS.get(change.type or "", 0)


def integration_merges(
    raw: Sequence[Change], owner: dict[str, str | None], pr_of: dict[str, int | None]
) -> set[str]:
    """PR merges that carry other pull requests, or whose title or branch names a release."""
    found = set()
    for change in raw:
        number = subject_pr(change.subject)
        if number is not None and owner.get(change.sha) is not None:
            for merge in merges_of(change.sha, owner):
                if pr_of.get(merge) not in (None, number):
                    found.add(merge)
    by_sha = {c.sha: c for c in raw if c.sha in pr_of}
    for sha, number in pr_of.items():
        if number is None:
            continue
        change = by_sha[sha]
        title = change.pr_title or change.description
        branch = _MERGE_FROM.match(change.subject)
        if _INTEGRATION_TITLE.search(title) or (branch and _INTEGRATION_BRANCH.match(branch["branch"])):
            found.add(sha)
    return found


def merges_of(sha: str, owner: dict[str, str | None]) -> list[str]:
    """The merges that brought `sha` in, outermost (the one on the first-parent line) first."""
    chain = []
    merge = owner.get(sha)
    while merge is not None:
        chain.append(merge)
        merge = owner.get(merge)
    chain.reverse()
    return chain


def attributed(
    change: Change, *, number: int | None, via: int | None, lead: Change | None, own: bool
) -> Change:
    """A commit a merge brought in, read as itself (not as its PR) and attached to its pull request."""
    if own:
        # The GitHub collector reads every commit of a PR through the PR's title; a branch commit
        # is its own message here, so both collectors give the same fields.
        reread = parse(sha=change.sha, message=change.subject + "\n\n" + change.body)
        change = dataclasses.replace(
            change,
            type=reread.type,
            scope=reread.scope,
            breaking=reread.breaking,
            description=reread.description,
        )
    same = lead is not None and change.sha == lead.sha
    if same:
        return dataclasses.replace(change, pr_number=number, via_pr=via)
    if lead is not None:
        return dataclasses.replace(
            change,
            pr_number=number,
            via_pr=via,
            pr_title=lead.pr_title,
            pr_body=lead.pr_body,
            pr_labels=lead.pr_labels,
            pr_author=lead.pr_author,
        )
    keep = number is not None and number == change.pr_number
    return dataclasses.replace(
        change,
        pr_number=number,
        via_pr=via,
        pr_title=change.pr_title if keep else None,
        pr_body=change.pr_body if keep else None,
        pr_labels=change.pr_labels if keep else (),
        pr_author=change.pr_author if keep else None,
    )


def as_lead(lead: Change, members: list[Change]) -> Change:
    """The lead as its pull request's item: the weightiest section of all its commits, breaking if any
    is, and the single branch commit's text when the merge message is GitHub's default without a title."""
    if not members:
        return lead
    heaviest: Change | None = max((lead, *members), key=weight)
    if heaviest is not None and weight(heaviest) == 0 and lead.type is None:
        heaviest = next((c for c in members if c.type), None)
    changed = lead
    if len(lead.parents) >= 2 and not lead.pr_title and lead.description == lead.subject:
        singles = [c for c in members if len(c.parents) < 2]
        if len(singles) == 1:
            changed = dataclasses.replace(
                changed, description=singles[0].description, scope=singles[0].scope, type=singles[0].type
            )
    if heaviest is not None and (
        weight(heaviest) > weight(changed) or (changed.type is None and heaviest.type)
    ):
        changed = dataclasses.replace(changed, type=heaviest.type)
    if any(c.breaking for c in members) and not changed.breaking:
        changed = dataclasses.replace(changed, breaking=True)
    return changed


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
    headline_text = title or change.description
    reparsed = parse(sha=change.sha, message=headline_text + "\n\n" + change.body)
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
