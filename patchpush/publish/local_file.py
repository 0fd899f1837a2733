"""Publish to a local clone: write the file, and with `--commit` make a git commit with our trailer."""

from __future__ import annotations

import subprocess
from pathlib import Path

from patchpush.errors import PublishError
from patchpush.models import PublishResult
from patchpush.publish import Update


class LocalFilePublisher:
    def __init__(self, *, repo: Path, file: str, commit: bool = False) -> None:
        self._repo = repo
        self._file = file
        self._commit = commit

    def read(self, path: str) -> str | None:
        target = self._repo / path
        try:
            return target.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise PublishError(f"cannot read {target}: {exc}") from exc

    def publish(self, update: Update, *, message: str, section: str = "") -> PublishResult:
        target = self._repo / self._file
        old = self.read(self._file)
        new = update(old)
        if new == old:
            return PublishResult(outcome="skipped", file=self._file)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(new, encoding="utf-8")
        except OSError as exc:
            raise PublishError(
                f"cannot write {target}: {exc.strerror}", "check the path and permissions"
            ) from exc
        if not self._commit:
            return PublishResult(outcome="written", file=self._file)
        self._git("add", "--", self._file)
        # Only the notes file: whatever else the user has staged stays staged and uncommitted.
        self._git("commit", "--quiet", "--no-verify", "-m", message, "--", self._file)
        sha = self._git("rev-parse", "HEAD")
        return PublishResult(outcome="committed", file=self._file, commit_sha=sha)

    def _git(self, *args: str) -> str:
        result = subprocess.run(
            ["git", "-C", str(self._repo), *args], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            detail = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
            raise PublishError(
                f"git {args[0]} of {self._file} failed: {detail}",
                "set user.name and user.email in git config" if "identity" in detail else None,
            )
        return result.stdout.strip()
