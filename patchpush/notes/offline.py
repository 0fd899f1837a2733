"""The offline writer: deterministic notes grouped by kind of change (README "Sections"). Needs no key."""

from __future__ import annotations

from collections import defaultdict

from patchpush.models import Change, ChangeSet, NoteItem, ReleaseNotes, Section, WriterReport
from patchpush.notes.classify import has_breaking_label, kind_of

BREAKING = "Breaking changes"
MAINTENANCE = "Maintenance"
OTHER = "Other changes"
# Reading order: what can break a user first, then what they gain; what only maintainers care
# about goes in one block after them (#11).
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Features", ("feat", "feature")),
    ("Fixes", ("fix", "bugfix", "hotfix")),
    ("Performance", ("perf",)),
    ("Security", ("security", "sec")),
    ("Deprecations", ("deprecate",)),
    ("Documentation", ("docs", "doc")),
    (MAINTENANCE, ("refactor", "test", "tests", "ci", "build", "chore", "style", "deps")),
)
_SECTION_OF = {t: title for title, types in SECTIONS for t in types}
SECTION_ORDER = (BREAKING, *(title for title, _ in SECTIONS), OTHER)


class OfflineWriter:
    """`NotesWriter` that needs nothing but the changes."""

    def write(self, changes: ChangeSet) -> ReleaseNotes:
        return write_offline(changes)


def write_offline(changes: ChangeSet, *, report: WriterReport | None = None) -> ReleaseNotes:
    grouped: dict[str, list[NoteItem]] = defaultdict(list)
    for section, item in _items(changes.changes):
        grouped[section].append(item)
    sections = tuple(
        Section(title, tuple(grouped[title]), collapsed=title == MAINTENANCE)
        for title in SECTION_ORDER
        if grouped.get(title)
    )
    return ReleaseNotes(
        title=title_for(changes),
        summary=summary_for(grouped, commits=len(changes.changes)),
        sections=sections,
        report=report or WriterReport(),
    )


def section_of(change: Change) -> str:
    """The section a change belongs in: breaking first, then its kind (type, labels, paths, verb)."""
    if change.breaking or (change.pr_labels and has_breaking_label(change.pr_labels)):
        return BREAKING
    if change.type:  # the common case on large ranges: a Conventional Commit type decides
        return _SECTION_OF.get(change.type, OTHER)
    return _SECTION_OF.get(kind_of(change) or "", OTHER)


def item_for(changes: list[Change]) -> NoteItem:
    """One item for one commit, or for all the commits of one pull request."""
    first = changes[0]
    prs = (first.pr_number,) if first.pr_number is not None else ()
    return NoteItem(text=_text(first), shas=tuple(c.sha for c in changes), prs=prs)


def _text(change: Change) -> str:
    text = change.description or change.subject
    if change.type == "revert":
        # Reverts have no section of their own: the item says what it undoes.
        text = f'Revert "{text}"'
    if change.scope:
        text = f"**{change.scope}:** {text}"
    return text


def title_for(changes: ChangeSet) -> str:
    """The head's tag, else the newest described commit and its own date (not the head's: the head
    may be a commit a rule left out, such as a bot's)."""
    if changes.head_tag:
        return changes.head_tag
    if not changes.changes:
        return f"Changes up to {changes.head[:7]}"
    newest = changes.changes[0]
    day = newest.date[:10]
    return f"Changes up to {newest.short_sha}" + (f" ({day})" if day else "")


def _items(changes: tuple[Change, ...]) -> list[tuple[str, NoteItem]]:
    """One item per commit, or per pull request when several commits share one."""
    by_pr: dict[int, list[Change]] = {}
    order: list[Change | int] = []
    for change in changes:
        number = change.pr_number
        if number is None:
            order.append(change)
        elif number in by_pr:
            by_pr[number].append(change)
        else:
            by_pr[number] = [change]
            order.append(number)
    items = []
    for entry in order:
        if isinstance(entry, Change):
            # The common case, inlined: one commit, no pull request (large ranges have 10,000s).
            kind = entry.type
            if kind and not entry.breaking and kind != "revert":
                text = entry.description or entry.subject
                if entry.scope:
                    text = f"**{entry.scope}:** {text}"
                items.append((_SECTION_OF.get(kind, OTHER), NoteItem(text, (entry.sha,))))
            else:
                items.append((section_of(entry), NoteItem(_text(entry), (entry.sha,))))
            continue
        group = by_pr[entry]
        lead = next((c for c in group if c.breaking), group[0])
        items.append((section_of(lead), item_for([lead, *(c for c in group if c is not lead)])))
    return items


_NOUNS = {
    BREAKING: "breaking change",
    "Features": "feature",
    "Fixes": "fix",
    "Performance": "performance improvement",
    "Security": "security fix",
    "Deprecations": "deprecation",
    "Documentation": "documentation change",
    MAINTENANCE: "maintenance change",
    OTHER: "other change",
}


def _count(number: int, noun: str) -> str:
    if number == 1:
        return f"1 {noun}"
    return f"{number} {noun}es" if noun.endswith(("x", "s")) else f"{number} {noun}s"


def summary_for(grouped: dict[str, list[NoteItem]], *, commits: int) -> str:
    """Like "12 changes (35 commits): 3 features, ...": the parts count items, and so does the total."""
    items = sum(len(grouped[t]) for t in SECTION_ORDER if grouped.get(t))
    if not items:
        return "No changes."
    parts = [_count(len(grouped[t]), _NOUNS[t]) for t in SECTION_ORDER if grouped.get(t)]
    total = _count(items, "change") + (f" ({_count(commits, 'commit')})" if commits != items else "")
    return f"{total}: " + ", ".join(parts) + "."
