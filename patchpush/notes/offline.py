"""The offline writer: deterministic notes grouped by Conventional Commit type. Needs no key."""

from __future__ import annotations

from collections import defaultdict

from patchpush.models import Change, ChangeSet, NoteItem, ReleaseNotes, Section, WriterReport

BREAKING = "Breaking changes"
OTHER = "Other changes"
# Section order is reading order: what can break a user first, then what they gain.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Features", ("feat", "feature")),
    ("Fixes", ("fix", "bugfix", "hotfix")),
    ("Performance", ("perf",)),
    ("Security", ("security", "sec")),
    ("Reverts", ("revert",)),
    ("Refactoring", ("refactor",)),
    ("Documentation", ("docs", "doc")),
    ("Tests", ("test", "tests")),
    ("Build and CI", ("build", "ci")),
    ("Chores", ("chore", "deps", "style")),
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
    sections = tuple(Section(title, tuple(grouped[title])) for title in SECTION_ORDER if grouped.get(title))
    return ReleaseNotes(
        title=title_for(changes),
        summary=_summary(grouped, len(changes.changes)),
        sections=sections,
        report=report or WriterReport(),
    )


def section_of(change: Change) -> str:
    if change.breaking:
        return BREAKING
    return _SECTION_OF.get(change.type or "", OTHER)


def item_for(changes: list[Change]) -> NoteItem:
    """One item for one commit, or for all the commits of one pull request."""
    first = changes[0]
    text = first.description or first.subject
    if first.scope:
        text = f"**{first.scope}:** {text}"
    prs = (first.pr_number,) if first.pr_number is not None else ()
    return NoteItem(text=text, shas=tuple(c.sha for c in changes), prs=prs)


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
            text = entry.description or entry.subject
            if entry.scope:
                text = f"**{entry.scope}:** {text}"
            section = BREAKING if entry.breaking else _SECTION_OF.get(entry.type or "", OTHER)
            items.append((section, NoteItem(text, (entry.sha,))))
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
    "Reverts": "revert",
    "Refactoring": "refactoring",
    "Documentation": "documentation change",
    "Tests": "test change",
    "Build and CI": "build or CI change",
    "Chores": "chore",
    OTHER: "other change",
}


def _count(number: int, noun: str) -> str:
    if number == 1:
        return f"1 {noun}"
    return f"{number} {noun}es" if noun.endswith(("x", "s")) else f"{number} {noun}s"


def _summary(grouped: dict[str, list[NoteItem]], count: int) -> str:
    if not count:
        return "No changes."
    parts = [_count(len(grouped[t]), _NOUNS[t]) for t in SECTION_ORDER if grouped.get(t)]
    return f"{_count(count, 'commit')}: " + ", ".join(parts) + "."
