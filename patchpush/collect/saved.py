"""A ChangeSet saved earlier (`patchpush --context`), replayed through the notes (`--from-context`).

As git-cliff's `--context` / `--from-context`: collect once, then try templates, prompts or models on
exactly the same changes.
"""

from __future__ import annotations

from pathlib import Path

from patchpush.collect import RangeRequest
from patchpush.errors import CollectError
from patchpush.models import ChangeSet


class SavedChangeSource:
    """`ChangeSource` that answers every request with the saved ChangeSet: its range was fixed when saved."""

    def __init__(self, *, path: Path) -> None:
        self._path = path

    def changes(self, request: RangeRequest) -> ChangeSet:
        try:
            return ChangeSet.from_json(self._path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CollectError(
                f"cannot read {self._path}: {exc.strerror}", "give the file --context wrote"
            ) from exc
        except (ValueError, TypeError, KeyError) as exc:
            raise CollectError(
                f"{self._path} is not a ChangeSet saved by `patchpush --context` ({exc})",
                "save one with `patchpush --context > changes.json`",
            ) from exc
