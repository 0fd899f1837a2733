"""Collect: the range to describe and the `ChangeSet` inside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from patchpush.models import ChangeSet, Since


@dataclass(frozen=True)
class RangeRequest:
    since: Since
    until: str
    branch: str
    last_described: str | None
    max_commits: int
    include_paths: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    exclude_authors: tuple[str, ...] = ()
    # The notes file: a commit with our trailer counts as our own only when it changes nothing else.
    notes_file: str = ""
    # Noise rules that leave commits out (collect/selection.py NOISE_RULES); all on unless turned off.
    noise: tuple[str, ...] = ("release", "fixup", "back-merge")


class ChangeSource(Protocol):
    def changes(self, request: RangeRequest) -> ChangeSet: ...
