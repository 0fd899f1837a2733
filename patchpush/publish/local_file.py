"""Publish to a local clone: write the file, and with `--commit` make a git commit with our trailer."""

from __future__ import annotations

import os
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
        target = self._regular(path)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise PublishError(f"{path} is a directory, not a file", "choose a file path") from None
        except OSError as exc:
            raise PublishError(
                f"cannot read {path}: {exc.strerror}", "check the path and permissions"
            ) from exc
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PublishError(
                f"{path} is not UTF-8 text (byte {exc.start:,} is not)",
                "convert the file to UTF-8, or choose another file",
            ) from None

    def publish(self, update: Update, *, message: str, section: str = "") -> PublishResult:
        old = self.read(self._file)
        new = update(old)
        if new == old:
            return PublishResult(outcome="skipped", file=self._file)
        target = self._regular(self._file)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # O_NOFOLLOW: a link put in place since the read is not followed either.
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
            with os.fdopen(os.open(target, flags, 0o644), "w", encoding="utf-8", newline="") as handle:
                handle.write(new)
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

    def _regular(self, path: str) -> Path:
        """The file at `path` in the clone, refusing symbolic links on the way: following one would read
        or overwrite a file outside the repository (a template linked to ~/.ssh/id_rsa, #9)."""
        target = self._repo
        for part in Path(path).parts:
            target = target / part
            if target.is_symlink():
                raise PublishError(
                    f"{target.relative_to(self._repo).as_posix()} is a symbolic link",
                    "patch-push reads and writes regular files only: replace the link by the file",
                )
        return target

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
