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


class ChangeSource(Protocol):
    def changes(self, request: RangeRequest) -> ChangeSet: ...
