from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitrepo import GitRepo

_ISOLATED = ("GITHUB_", "INPUT_", "RUNNER_", "OPENAI_", "AZURE_OPENAI_")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the variables of the runner or of a developer's shell."""
    for name in list(os.environ):
        if name.startswith(_ISOLATED):
            monkeypatch.delenv(name)
    yield


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")
