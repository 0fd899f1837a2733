"""Write: `ReleaseNotes` from a `ChangeSet`, by the offline writer or an LLM, rendered by one template."""

from __future__ import annotations

from typing import Protocol

from patchpush.models import ChangeSet, ReleaseNotes


class NotesWriter(Protocol):
    def write(self, changes: ChangeSet) -> ReleaseNotes: ...
