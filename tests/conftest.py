from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.gitrepo import GitRepo

# STYLE §6: `ci` is few examples, reproducible and without deadlines (CI machines are slow and
# shared); `thorough` is for a bench run: HYPOTHESIS_PROFILE=thorough pytest tests/...
settings.register_profile(
    "ci",
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "thorough",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
