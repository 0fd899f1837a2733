"""Real git repositories for tests, with fixed dates so every run builds the same history."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z


class GitRepo:
    def __init__(self, path: Path, *, branch: str = "main") -> None:
        self.path = path
        self._tick = 0
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", branch)
        self.git("config", "user.name", "Test Author")
        self.git("config", "user.email", "author@example.test")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            ["git", "-C", str(self.path), *args],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **(env or {})},
        )
        return result.stdout.strip()

    def _dates(self, day: int | None) -> dict[str, str]:
        self._tick += 1
        moment = EPOCH + (day * 86_400 if day is not None else self._tick * 60)
        stamp = f"@{moment} +0000"
        return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}

    def commit(
        self,
        message: str,
        *,
        files: dict[str, str] | None = None,
        author: str | None = None,
        day: int | None = None,
    ) -> str:
        files = files or {f"file{self._tick}.txt": message}
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            self.git("add", "--", name)
        env = self._dates(day)
        if author:
            name, _, email = author.partition(" <")
            env |= {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email.rstrip(">") or f"{name}@example.test"}
        self.git("commit", "-q", "--allow-empty", "-m", message, env=env)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def tag(self, name: str, ref: str = "HEAD") -> None:
        self.git("tag", name, ref)

    def merge_branch(self, branch: str, commits: list[str], *, message: str) -> str:
        """Make `branch` with `commits` off HEAD, then merge it back with a merge commit."""
        main = self.git("rev-parse", "--abbrev-ref", "HEAD")
        self.git("checkout", "-q", "-b", branch)
        for text in commits:
            self.commit(text)
        self.git("checkout", "-q", main)
        return self.merge(branch, message=message)

    def merge(self, branch: str, *, message: str) -> str:
        """Merge an existing `branch` into HEAD with a merge commit (a fixed date, as every commit)."""
        self.git("merge", "-q", "--no-ff", "-m", message, branch, env=self._dates(None))
        return self.head()

    def log(self, *args: str) -> list[str]:
        return self.git("log", "--format=%s", *args).splitlines()
