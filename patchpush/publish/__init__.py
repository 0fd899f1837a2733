"""Publish: merge the notes into the file and commit it (Contents API, local file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from patchpush.models import PublishResult

# old text of the file (None when it does not exist yet) -> new text; may raise MarkerMoved
Update = Callable[[str | None], str]


class MarkerMoved(Exception):
    """Raised by an `Update`: the file now records a range other than the one the notes start after.

    Another run described newer changes while we wrote ours. Merging our older range on top would move
    the marker backwards (issue 9, item 7), so the publisher lets this through and the pipeline collects
    again after the file's new marker. `text` is the file as it now is.
    """

    def __init__(self, text: str | None) -> None:
        super().__init__("the notes file changed under us")
        self.text = text


class Publisher(Protocol):
    def read(self, path: str) -> str | None:
        """A file of the repository at the branch being described, None when it does not exist."""
        ...

    def publish(self, update: Update, *, message: str, section: str = "") -> PublishResult:
        """Write update(old text) with `message`; `section` is the new notes, for a release body."""
        ...
