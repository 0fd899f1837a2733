"""One error root with a subclass per stage; every error raised on purpose derives from it."""

from __future__ import annotations


class PatchPushError(Exception):
    """An error the user can act on: a one-line message and, where we know it, what to do."""

    stage = "run"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class SettingsError(PatchPushError):
    stage = "settings"


class CollectError(PatchPushError):
    stage = "collect"


class NotesError(PatchPushError):
    stage = "notes"


class PublishError(PatchPushError):
    stage = "publish"
