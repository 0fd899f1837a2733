"""What a repository's notes show: the sections it hides or renames, the Maintenance block, and its
`.github/release.yml` categories and exclusions (README "Sections").

Two steps around whichever writer runs, so both writers obey the same rules:
`leave_out` before writing (an excluded change is recorded in `ChangeSet.left_out` with its rule and is
never described), `arrange` after (release.yml categories, renames, the collapsed block, order).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from patchpush.models import Change, ChangeSet, LeftOut, NoteItem, ReleaseNotes, Section
from patchpush.notes.classify import BREAKING_LABELS
from patchpush.notes.offline import BREAKING, MAINTENANCE, OTHER, section_of
from patchpush.notes.release_config import ReleaseConfig

Maintenance = Literal["collapse", "list", "hide"]
# Labels that keep a pull request out of the notes in every repository, release.yml or not.
SKIP_LABELS = frozenset(
    {
        "skip-changelog",
        "no-changelog",
        "skip changelog",
        "no changelog",
        "changelog: skip",
        "changelog:skip",
        "skip-release-notes",
        "no-release-notes",
    }
)


@dataclass(frozen=True)
class SectionRules:
    maintenance: Maintenance = "collapse"
    hidden: frozenset[str] = frozenset()  # lower-cased titles, before or after renaming
    titles: dict[str, str] = field(default_factory=dict)  # lower-cased title -> shown title
    release: ReleaseConfig | None = None


def rules(
    *,
    maintenance: Maintenance = "collapse",
    hide: Iterable[str] = (),
    titles: Iterable[tuple[str, str]] = (),
    release: ReleaseConfig | None = None,
) -> SectionRules:
    return SectionRules(
        maintenance=maintenance,
        hidden=frozenset(t.strip().lower() for t in hide),
        titles={old.strip().lower(): new.strip() for old, new in titles},
        release=release,
    )


def leave_out(changes: ChangeSet, rules: SectionRules) -> ChangeSet:
    """The changes without those the rules exclude; each excluded commit lands in `left_out`."""
    hiding = rules.maintenance == "hide" or bool(rules.hidden)
    if not hiding and rules.release is None and not any(c.pr_labels for c in changes.changes):
        return changes  # nothing can exclude a change (large ranges of plain commits)
    gone: list[LeftOut] = []
    for group in _groups(changes.changes):
        rule = _exclusion(group, rules)
        if rule is not None:
            gone.extend(LeftOut(sha=c.sha, rule=rule, subject=c.subject) for c in group)
    if not gone:
        return changes
    shas = {g.sha for g in gone}
    return dataclasses.replace(
        changes,
        changes=tuple(c for c in changes.changes if c.sha not in shas),
        left_out=(*changes.left_out, *gone),
        excluded=changes.excluded + len(gone),
    )


def arrange(notes: ReleaseNotes, changes: ChangeSet, rules: SectionRules) -> ReleaseNotes:
    """File items into release.yml categories, rename, fold the Maintenance block, keep the order."""
    sections: dict[str, list[NoteItem]] = {}
    if rules.release and rules.release.categories:
        by_sha = changes.by_sha()
        for category in rules.release.categories:
            sections[category.title] = []
        for section in notes.sections:
            for item in section.items:
                group = [by_sha[s] for s in item.shas if s in by_sha]
                labels, authors = _labels(group), _authors(group)
                taker = rules.release.category(labels, authors)
                # A breaking change no label files stays on top, even with a "*" category.
                if taker and not (section.title == BREAKING and not labels & taker.labels):
                    sections[taker.title].append(item)
                else:
                    sections.setdefault(section.title, []).append(item)
        if BREAKING in sections and (breaking := _breaking_category(rules.release)):
            # A repository with its own breaking-changes category keeps one such heading.
            sections[breaking] = [*sections.pop(BREAKING), *sections[breaking]]
        order = [BREAKING, *(c.title for c in rules.release.categories)]
        rank = {title: n for n, title in enumerate(order)}
        ranked = sorted(sections.items(), key=lambda kv: (rank.get(kv[0], len(order)), kv[0] == OTHER))
        sections = dict(ranked)
    else:
        sections = {s.title: list(s.items) for s in notes.sections}
    # Two sections renamed to one title (Fixes=Changes, Other changes=Changes) become one section.
    merged: dict[str, list[NoteItem]] = {}
    folded: set[str] = set()
    for title, items in sections.items():
        if items:
            shown_title = rules.titles.get(title.lower(), title)
            merged.setdefault(shown_title, []).extend(items)
            if title == MAINTENANCE and rules.maintenance == "collapse":
                folded.add(shown_title)
    shown = tuple(
        Section(title=title, items=tuple(items), collapsed=title in folded) for title, items in merged.items()
    )
    if rules.release and rules.release.categories and notes.report.writer == "offline":
        # The offline summary counts kinds; under the repository's own headings it counts those.
        parts = [f"{len(s.items)} in {s.title}" for s in shown]
        count = sum(len(s.items) for s in shown)
        total = f"{count} change{'s' if count != 1 else ''}"
        return dataclasses.replace(notes, sections=shown, summary=f"{total}: " + ", ".join(parts) + ".")
    return dataclasses.replace(notes, sections=shown)


def _breaking_category(release: ReleaseConfig) -> str | None:
    for category in release.categories:
        if category.labels & BREAKING_LABELS or "breaking" in category.title.lower():
            return category.title
    return None


def _exclusion(group: list[Change], rules: SectionRules) -> str | None:
    labels, authors = _labels(group), _authors(group)
    if labels & SKIP_LABELS:
        return "skip-changelog"
    release = rules.release
    if release is not None and (why := release.exclude.match(labels, authors)):
        return f"release-yml-{why}"
    if rules.maintenance == "hide" or rules.hidden:
        title = _section(group, labels, authors, rules)
        if title == MAINTENANCE and rules.maintenance == "hide":
            return "maintenance-hidden"
        if title.lower() in rules.hidden or rules.titles.get(title.lower(), "").lower() in rules.hidden:
            return "section-hidden"
    return None


def _section(group: list[Change], labels: set[str], authors: set[str], rules: SectionRules) -> str:
    lead = next((c for c in group if c.breaking), group[0])
    title = section_of(lead)
    category = rules.release.category(labels, authors) if rules.release else None
    # A breaking change no label files stays on top, even with a "*" category.
    if category and not (title == BREAKING and not labels & category.labels):
        return category.title
    return title


def _groups(changes: Iterable[Change]) -> Iterator[list[Change]]:
    """The commits one item stands for: a pull request's together, any other commit alone."""
    by_pr: dict[int, list[Change]] = {}
    for change in changes:
        if change.pr_number is None:
            yield [change]
        else:
            by_pr.setdefault(change.pr_number, []).append(change)
    yield from by_pr.values()


def _labels(group: Iterable[Change]) -> set[str]:
    return {label.strip().lower() for c in group for label in c.pr_labels}


def _authors(group: Iterable[Change]) -> set[str]:
    found = set()
    for c in group:
        for who in (c.pr_author, c.author_login, c.author_name):
            if who:
                found.add(who.lower())
                found.add(who.lower().removesuffix("[bot]"))
    return found
