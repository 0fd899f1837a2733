"""Hostile repository content, workflow inputs and model answers, through the action (issue #9).

Each case lives in tests/hostile_cases.py, shared with bench/hostile.py; a case fails when a user would
see something wrong, a secret shows up anywhere a person can read, or generated notes are lost.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile_cases import CASES


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_case(name: str, tmp_path: Path) -> None:
    verdict = CASES[name](tmp_path)
    assert not verdict.leaks, f"secret in {verdict.leaks}"
    assert not verdict.lost, "generated notes were lost"
    assert not verdict.problems, "; ".join(verdict.problems)
