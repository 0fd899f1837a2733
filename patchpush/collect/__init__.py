"""Collect: the range to describe and the `ChangeSet` inside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from patchpush.models import NOISE_RULES, ChangeSet, Since


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
    # The noise rules that apply (models.NOISE_RULES); all of them unless turned off.
    noise: tuple[str, ...] = NOISE_RULES


class ChangeSource(Protocol):
    def changes(self, request: RangeRequest) -> ChangeSet: ...
