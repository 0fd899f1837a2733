"""A working clone, the bare repository behind the loopback GitHub, and the emulator serving it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.action_runner import ActionRun, run_action
from tests.fakes.github_server import GitHubEmulator
from tests.gitrepo import GitRepo


class Remote:
    """`work` is where tests make commits; `bare` is what GitHub serves (and where the action commits)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.work = GitRepo(tmp_path / "work")
        self.bare = tmp_path / "remote.git"
        self._runs = 0

    def push(self) -> None:
        if not self.bare.exists():
            subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(self.bare)], check=True)
        self.work.git("push", "-q", "--tags", str(self.bare), "HEAD:refs/heads/main")

    def pull(self) -> None:
        """Bring the action's commits into `work`, so later commits build on them."""
        self.work.git("pull", "-q", "--rebase", str(self.bare), "main")

    def bare_git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "--git-dir", str(self.bare), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    def file_at_head(self, path: str) -> str:
        return self.bare_git("show", f"main:{path}")

    def run(
        self,
        emu: GitHubEmulator,
        inputs: dict[str, str] | None = None,
        *,
        token: str = "test-token",
        env: dict[str, str] | None = None,
        config: str | None = None,
    ) -> ActionRun:
        """One action run in a fresh workspace; `config` is written as .github/patchpush.yml there."""
        self._runs += 1
        folder = self.tmp_path / f"run{self._runs}"
        folder.mkdir()
        if config is not None:
            (folder / "workspace/.github").mkdir(parents=True)
            (folder / "workspace/.github/patchpush.yml").write_text(config)
        full_env = {"GITHUB_API_URL": emu.base_url, "GITHUB_SERVER_URL": "https://github.com", **(env or {})}
        return run_action(folder, {"github-token": token, **(inputs or {})}, env=full_env)


@contextmanager
def serve(remote: Remote, **options: object) -> Iterator[GitHubEmulator]:
    remote.push()
    with GitHubEmulator(remote.bare, **options) as emu:  # type: ignore[arg-type]
        yield emu
