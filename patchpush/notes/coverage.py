"""The invariant every run checks after writing, whichever writer wrote: every change exactly once.

Each change of the ChangeSet is cited by exactly one item; a commit a rule left out is cited by none; every
item cites the pull requests of the commits it stands for. A writer that breaks it is a bug in
patch-push: `ensure` repairs the notes (missing changes come back in their offline sections) and says so.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass

from patchpush.models import Change, ChangeSet, NoteItem, ReleaseNotes, Section

# How many SHAs a warning names before "and N more".
_NAMED = 5


@dataclass(frozen=True)
class Violations:
    # Changes of the ChangeSet that no item cites.
    missing: tuple[str, ...] = ()
    # Changes that more than one item cites.
    repeated: tuple[str, ...] = ()
    # Commits a rule left out that an item cites anyway.
    leaked: tuple[str, ...] = ()
    # Cited SHAs that are not in the range at all.
    unknown: tuple[str, ...] = ()
    # Items that stand for a commit of a pull request without citing that pull request.
    uncited_prs: int = 0

    def __bool__(self) -> bool:
        return bool(self.missing or self.repeated or self.leaked or self.unknown or self.uncited_prs)


def check(changes: ChangeSet, notes: ReleaseNotes) -> Violations:
    by_sha = changes.by_sha()
    left_out = {x.sha for x in changes.left_out}
    cited = Counter(sha for section in notes.sections for item in section.items for sha in item.shas)
    uncited_prs = sum(
        1 for section in notes.sections for item in section.items if _prs(item, by_sha) != item.prs
    )
    return Violations(
        missing=tuple(sha for sha in by_sha if sha not in cited),
        repeated=tuple(sha for sha, n in cited.items() if n > 1 and sha in by_sha),
        leaked=tuple(sha for sha in cited if sha in left_out),
        unknown=tuple(sha for sha in cited if sha not in by_sha and sha not in left_out),
        uncited_prs=uncited_prs,
    )


def ensure(changes: ChangeSet, notes: ReleaseNotes) -> tuple[ReleaseNotes, tuple[str, ...]]:
    """`notes` with the invariant restored, and the warnings that name what had to be repaired."""
    found = check(changes, notes)
    if not found:
        return notes, ()
    by_sha = changes.by_sha()
    leaked = set(found.leaked)
    sections = tuple(
        Section(
            section.title,
            tuple(
                dataclasses.replace(
                    item,
                    shas=tuple(s for s in item.shas if s not in leaked),
                    prs=_prs(item, by_sha),
                )
                for item in section.items
            ),
        )
        for section in notes.sections
    )
    warnings = []
    if found.missing:
        sections = _add_missing(changes, sections, set(found.missing))
        warnings.append(
            f"bug in patch-push: the notes left out {_named(found.missing)}; "
            "they were added in their sections (please report it)"
        )
    if found.leaked:
        warnings.append(
            f"bug in patch-push: the notes cited {_named(found.leaked)}, which a rule left out; "
            "the citations were removed (please report it)"
        )
    repaired = notes.report.coverage_repaired + len(found.missing)
    report = dataclasses.replace(notes.report, coverage_repaired=repaired)
    return dataclasses.replace(notes, sections=sections, report=report), tuple(warnings)


def _prs(item: NoteItem, by_sha: dict[str, Change]) -> tuple[int, ...]:
    """The item's pull requests, completed with those of the commits it stands for."""
    numbers = list(item.prs)
    for sha in item.shas:
        change = by_sha.get(sha)
        if change is None:
            continue
        for number in (change.pr_number, change.via_pr):
            if number is not None and number not in numbers:
                numbers.append(number)
    return tuple(numbers)


def _add_missing(changes: ChangeSet, sections: tuple[Section, ...], missing: set[str]) -> tuple[Section, ...]:
    from patchpush.notes.offline import SECTION_ORDER, write_offline

    only = dataclasses.replace(changes, changes=tuple(c for c in changes.changes if c.sha in missing))
    extra = {s.title: s.items for s in write_offline(only).sections}
    merged = [Section(s.title, s.items + extra.pop(s.title, ())) for s in sections]
    rank = {title: n for n, title in enumerate(SECTION_ORDER)}
    for title, items in extra.items():
        # A new section goes where the offline writer would put it among the known ones.
        at = next(
            (n for n, s in enumerate(merged) if rank.get(s.title, len(rank)) > rank.get(title, len(rank))),
            len(merged),
        )
        merged.insert(at, Section(title, items))
    return tuple(merged)


def _named(shas: tuple[str, ...]) -> str:
    names = ", ".join(s[:7] for s in shas[:_NAMED])
    more = f" and {len(shas) - _NAMED} more" if len(shas) > _NAMED else ""
    noun = "change" if len(shas) == 1 else "changes"
    return f"{len(shas)} {noun} ({names}{more})"
