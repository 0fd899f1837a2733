"""Publish: merge the notes into the file and commit it (Contents API, local file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from patchpush.models import PublishResult

# old text of the file (None when it does not exist yet) -> new text
Update = Callable[[str | None], str]


class Publisher(Protocol):
    def read(self, path: str) -> str | None:
        """A file of the repository at the branch being described, None when it does not exist."""
        ...

    def publish(self, update: Update, *, message: str, section: str = "") -> PublishResult:
        """Write update(old text) with `message`; `section` is the new notes, for a release body."""
        ...
