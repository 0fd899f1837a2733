"""Which commits a run describes, and as what: the rules both collectors apply after reading the history.

Every commit of the range ends in exactly one place (DESIGN.md, "Every change exactly once"): in
`changes`, alone or with its pull request, or in `left_out` with the rule that left it out. The rules
work on the commits' messages, authors and parents only, so the git and GitHub collectors agree.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from patchpush.collect import RangeRequest
from patchpush.collect.conventional import (
    OWN_TRAILER,
    fixup_target,
    headline,
    is_excluded_author,
    is_own_commit,
    is_release_commit,
    paths_selected,
    subject_pr,
)
from patchpush.collect.dag import decompose
from patchpush.collect.pull_requests import (
    as_lead,
    attributed,
    integration_merges,
    merges_of,
    weight,
    with_pull_request,
)
from patchpush.models import Change, LeftOut

_FIXUP_PREFIXES = ("fixup! ", "squash! ", "amend! ")
# First letters of release subjects (conventional.is_release_commit), so most commits skip the regex.
_RELEASE_STARTS = frozenset("cCbBrRvVuUsS0123456789")


__all__ = ["Selection", "choose", "weight", "with_pull_request"]


@dataclass(frozen=True)
class Selection:
    changes: tuple[Change, ...]
    left_out: tuple[LeftOut, ...]
    # The newest commit of the range that is not patch-push's own (see ChangeSet.newest).
    newest: str | None


def choose(
    raw: Sequence[Change], request: RangeRequest, *, touching: Collection[str] | None = None
) -> Selection:
    """The range's commits (newest first) split into what the notes describe and what rules left out.

    `touching` holds the commits that touch the wanted paths when path filters are set; without it,
    `Change.files` decides.
    """
    return _Chooser(raw, request, touching).run()


class _Chooser:
    def __init__(
        self, raw: Sequence[Change], request: RangeRequest, touching: Collection[str] | None
    ) -> None:
        self.raw = raw
        self.request = request
        self.touching = touching
        self.excluded = {a.lower() for a in request.exclude_authors}
        self.noise = set(request.noise)
        self.filtered = bool(request.include_paths or request.exclude_paths)
        # sha -> rule, for every commit left out
        self.rule: dict[str, str] = {}
        # sha -> replacement Change, for commits attributed to a pull request or rewritten as a lead
        self.replaced: dict[str, Change] = {}
        # pr number -> the commit that heads its item (its merge commit, or the newest of its commits)
        self.lead: dict[int, str] = {}
        # merges of release or integration pull requests, described commit by commit; and who owns whom
        self.integration: set[str] = set()
        self.owner: dict[str, str | None] = {}

    @functools.cached_property
    def by_sha(self) -> dict[str, Change]:
        return {c.sha: c for c in self.raw}

    def run(self) -> Selection:
        newest = None
        rule = self.rule
        excluded = self.excluded
        release = "release" in self.noise
        filtered = self.filtered
        merges = reverts = fixups = False
        numbers: dict[int, int] = {}
        # One tight pass: this runs once per commit, 50,000 times on large ranges (bench/offline.py).
        for change in self.raw:
            if OWN_TRAILER in change.body and self._is_own(change):
                rule[change.sha] = "own-notes"
                continue
            if newest is None:
                newest = change.sha
            subject = change.subject
            if change.pr_number is not None:
                numbers[change.pr_number] = numbers.get(change.pr_number, 0) + 1
            if change.reverts:
                reverts = True
            if len(change.parents) > 1:
                merges = True
            elif excluded and is_excluded_author(
                excluded, change.author_login, change.author_name, change.author_email
            ):
                rule[change.sha] = "bot"
            elif filtered and not self._touches(change):
                rule[change.sha] = "path-filter"
            elif release and subject[:1] in _RELEASE_STARTS and is_release_commit(subject):
                rule[change.sha] = "release"
            elif subject.startswith(_FIXUP_PREFIXES):
                fixups = True
        if merges:
            self._fold_merges()
            self._shared_pull_requests()
        elif any(count > 1 for count in numbers.values()):
            self._shared_pull_requests()
        if reverts:
            self._cancel_reverts()
        if fixups and "fixup" in self.noise:
            self._fold_fixups()
        self._leads()
        if self.integration:
            self._integration_left_out()
        return Selection(changes=self._ordered(), left_out=self._left_out(), newest=newest)

    # --- rules on one commit ---------------------------------------------------------------------

    def _is_own(self, change: Change) -> bool:
        """Our trailer, on a commit that changes nothing but the notes file (see issue 9)."""
        if not is_own_commit(change.body):
            return False
        notes_file = self.request.notes_file
        return not notes_file or all(path == notes_file for path in change.files)

    def _touches(self, change: Change) -> bool:
        if self.touching is not None:
            return change.sha in self.touching
        # No files means unknown (models.Change.files): the caller has applied the filters itself.
        return not change.files or paths_selected(
            change.files, self.request.include_paths, self.request.exclude_paths
        )

    # --- pull requests brought in by merge commits -------------------------------------------------

    def _fold_merges(self) -> None:
        """Give every commit a merge brought in to that merge's pull request (see dag.decompose)."""
        head = self.raw[0].sha
        owner, brought = decompose(head, self.by_sha)
        pr_of: dict[str, int | None] = {}
        for change in self.raw:
            if len(change.parents) >= 2:
                number = subject_pr(change.subject)
                if number is None and owner.get(change.sha) is None:
                    number = change.pr_number
                pr_of[change.sha] = number
        integration = self.integration = integration_merges(self.raw, owner, pr_of)
        self.owner = owner
        for change in self.raw:
            sha = change.sha
            is_merge = len(change.parents) >= 2
            chain = merges_of(sha, owner)
            heads_pr = False
            if is_merge:
                empty = not brought.get(sha)
                if chain and empty:
                    if "back-merge" in self.noise:
                        self.rule.setdefault(sha, "back-merge")
                        continue
                    # described as a plain commit of the branch that merged it
                elif pr_of[sha] is None or sha in integration:
                    self.rule.setdefault(sha, "merge")
                    continue
                else:
                    heads_pr = True
            elif not chain:
                continue  # a commit of the first-parent line keeps its own pull request, if any
            prs = [m for m in chain if pr_of.get(m) is not None]
            if heads_pr:
                prs.append(sha)  # a pull request's merge heads that pull request's item
            via: int | None = None
            group: str | None = None
            if prs and prs[0] in integration:
                via = pr_of[prs[0]]
                group = next((m for m in prs[1:] if m not in integration), None)
            elif prs:
                group = prs[0]
            number = pr_of[group] if group is not None else subject_pr(change.subject)
            lead = self.by_sha[group] if group is not None else None
            self.replaced[sha] = attributed(change, number=number, via=via, lead=lead, own=not is_merge)
            if group is not None and number is not None:
                self.lead.setdefault(number, group)

    def _shared_pull_requests(self) -> None:
        """Commits of the first-parent line that share a pull request (a rebase merge, as the API
        tells it) form one item headed by the newest."""
        counts: dict[int, int] = {}
        replaced = self.replaced
        lead = self.lead
        for change in self.raw:
            number = (replaced.get(change.sha) or change).pr_number
            if number is not None and number not in lead:
                counts[number] = counts.get(number, 0) + 1
        shared = {n for n, count in counts.items() if count > 1}
        if shared:
            for change in self.raw:
                number = (replaced.get(change.sha) or change).pr_number
                if number in shared:
                    lead.setdefault(number, change.sha)

    # --- reverts and fixups ------------------------------------------------------------------------

    def _cancel_reverts(self) -> None:
        """A revert and what it reverts, both in range, cancel out: neither reached users.

        Newest revert first, so that reverting a revert brings the original back.
        """
        reverts = [c for c in self.raw if c.reverts and c.sha not in self.rule]
        if not reverts:
            return
        by_prefix: dict[str, list[str]] = {}
        for change in self.raw:
            by_prefix.setdefault(change.sha[:7], []).append(change.sha)
        for revert in reverts:
            if revert.sha in self.rule or not revert.reverts:
                continue
            target = next(
                (s for s in by_prefix.get(revert.reverts[:7], ()) if s.startswith(revert.reverts)), None
            )
            if target is None or target == revert.sha:
                continue
            self.rule[revert.sha] = "revert-pair"
            number = self._current(target).pr_number
            if number is not None and self.lead.get(number) == target:
                # Reverting a pull request's merge reverts the whole pull request.
                for change in self.raw:
                    if change.sha not in self.rule and self._current(change.sha).pr_number == number:
                        self.rule[change.sha] = "revert-pair"
            elif self.rule.get(target) == "merge":
                # Reverting a merge described commit by commit reverts everything it brought in.
                for change in self.raw:
                    if change.sha not in self.rule and target in merges_of(change.sha, self.owner):
                        self.rule[change.sha] = "revert-pair"
                self.rule[target] = "revert-pair"
            self.rule.setdefault(target, "revert-pair")

    def _fold_fixups(self) -> None:
        """`fixup!` commits join their target's pull request when it is in range; else they are noise."""
        targets: dict[str, list[int]] | None = None
        for index, change in enumerate(self.raw):
            if not change.subject.startswith(_FIXUP_PREFIXES) or change.sha in self.rule:
                continue
            if len(change.parents) >= 2:
                continue
            subject = fixup_target(change.subject)
            if subject is None:
                continue
            if targets is None:
                targets = {}
                for position, other in enumerate(self.raw):
                    targets.setdefault(other.subject, []).append(position)
                    if headline(other.subject) != other.subject:
                        targets.setdefault(headline(other.subject), []).append(position)
            # The target is the newest older commit with that subject.
            found = targets.get(subject, [])
            after = bisect.bisect_right(found, index)
            target = self._current(self.raw[found[after]].sha) if after < len(found) else None
            if target is None or target.sha in self.rule or target.pr_number is None:
                self.rule[change.sha] = "fixup"
            else:
                current = self._current(change.sha)
                self.replaced[change.sha] = dataclasses.replace(
                    current,
                    pr_number=target.pr_number,
                    pr_title=target.pr_title,
                    pr_body=target.pr_body,
                    pr_labels=target.pr_labels,
                    pr_author=target.pr_author,
                    via_pr=target.via_pr,
                )

    # --- each pull request's item ------------------------------------------------------------------

    def _leads(self) -> None:
        """Decide each pull request's lead: its section, text, and whether it is left out as a whole."""
        if not self.lead:
            return
        members: dict[int, list[Change]] = {}
        for change in self.raw:
            current = self._current(change.sha)
            if current.pr_number is not None and self.lead.get(current.pr_number) != change.sha:
                members.setdefault(current.pr_number, []).append(current)
        for number, sha in self.lead.items():
            if sha in self.rule:
                continue
            lead = self._current(sha)
            group = members.get(number, [])
            kept = [c for c in group if c.sha not in self.rule]
            if lead.pr_author and self.excluded and lead.pr_author.lower() in self.excluded:
                for change in (lead, *kept):
                    self.rule[change.sha] = "bot"
                continue
            if group and not kept:
                # A pull request whose every commit a rule left out goes with them.
                self.rule[sha] = self._group_rule([c.sha for c in group])
                continue
            if not group and self.filtered and len(lead.parents) >= 2:
                self.rule[sha] = "path-filter"
                continue
            self.replaced[sha] = as_lead(lead, kept)

    def _integration_left_out(self) -> None:
        """A release or integration pull request whose every commit a rule left out (a bot's) goes with
        them, as any pull request does."""
        brought: dict[str, list[str]] = {}
        for change in self.raw:
            chain = merges_of(change.sha, self.owner)
            if chain and chain[0] in self.integration:
                brought.setdefault(chain[0], []).append(change.sha)
        for merge, shas in brought.items():
            if self.rule.get(merge) == "merge" and all(s in self.rule for s in shas):
                self.rule[merge] = self._group_rule(shas)

    def _group_rule(self, shas: list[str]) -> str:
        """The rule that left out a pull request's commits: the one most of its own commits (not its
        merges) fell to."""
        commits = [s for s in shas if len(self.by_sha[s].parents) < 2] or shas
        rules = [self.rule[s] for s in commits]
        return max(sorted(set(rules)), key=rules.count)

    def _current(self, sha: str) -> Change:
        return self.replaced.get(sha) or self.by_sha[sha]

    def _ordered(self) -> tuple[Change, ...]:
        """Newest first, each pull request's commits right after its lead, so the lead heads its item."""
        rule = self.rule
        replaced = self.replaced
        if not self.lead:
            if not replaced:
                return tuple(c for c in self.raw if c.sha not in rule)
            return tuple(replaced.get(c.sha) or c for c in self.raw if c.sha not in rule)
        kept = [replaced.get(c.sha) or c for c in self.raw if c.sha not in rule]
        followers: dict[int, list[Change]] = {}
        for change in kept:
            lead = self.lead.get(change.pr_number) if change.pr_number is not None else None
            if change.pr_number is not None and lead not in (None, change.sha) and lead not in self.rule:
                followers.setdefault(change.pr_number, []).append(change)
        placed = {c.sha for group in followers.values() for c in group}
        ordered: list[Change] = []
        for change in kept:
            if change.sha in placed:
                continue
            ordered.append(change)
            if change.pr_number is not None and self.lead.get(change.pr_number) == change.sha:
                ordered.extend(followers.get(change.pr_number, ()))
        return tuple(ordered)

    def _left_out(self) -> tuple[LeftOut, ...]:
        return tuple(LeftOut(c.sha, self.rule[c.sha], c.subject) for c in self.raw if c.sha in self.rule)
