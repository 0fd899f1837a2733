"""The GitHub API side of issue 9 item 12, through the action (entrypoint.py) against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.action_runner import run_action
from tests.github_env import Remote, serve


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    remote = Remote(tmp_path)
    remote.work.commit("chore: initial import")
    remote.work.tag("v1.0.0")
    for n in range(30):
        remote.work.commit(f"fix: change {n}", files={"f.txt": str(n)})
    return remote


def test_the_default_branch_is_asked_once_when_the_event_names_none(remote: Remote, tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    with serve(remote) as emu:
        run = run_action(
            tmp_path / "run",
            {"github-token": "test-token", "max-commits": "5000"},
            env={"GITHUB_API_URL": emu.base_url},
            default_branch="",
        )
        assert run.outputs["outcome"] == "committed", run.stdout
        paths = [(r.method, r.path) for r in emu.requests]
    assert paths.count(("GET", "/repos/octo-org/widgets")) == 1
    # Repository, config file, notes file, .github/release.yml (#11), the history, the commit.
    assert len(paths) == 6, paths


def test_history_pages_that_time_out_are_asked_again_smaller(remote: Remote) -> None:
    with serve(remote) as emu:
        emu.graphql_max_history_page = 10
        run = remote.run(emu)
        assert run.outputs["outcome"] == "committed", run.stdout
        assert run.outputs["changes"] == "30"
        statuses = [r.status for r in emu.requests if r.path.endswith("/graphql")]
    # 100, 50 and 25 time out; then pages of 10 until the tagged commit is listed.
    assert statuses == [502, 502, 502, 200, 200, 200, 200]


def test_a_history_that_times_out_at_every_size_fails_with_one_clear_line(remote: Remote) -> None:
    with serve(remote) as emu:
        emu.graphql_max_history_page = 5
        emu.graphql_timeout_status = 504
        run = remote.run(emu)
    assert run.code == 1 and run.outputs["outcome"] == "failed"
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error::")]
    assert len(errors) == 1
    assert "timed out reading the history of octo-org/widgets@main, even 10 commits a page (504" in errors[0]


@pytest.mark.parametrize("spent", ["graphql", "core"])
def test_a_spent_rate_limit_names_the_time_it_resets(remote: Remote, spent: str) -> None:
    with serve(remote) as emu:
        # GitHub answers GraphQL with 200 and a RATE_LIMITED error, REST with 403;
        # both with x-ratelimit-remaining: 0.
        emu.rate_limit = 0 if spent == "graphql" else 2
        run = remote.run(emu)
        reset = datetime.fromtimestamp(emu.rate_reset, UTC)
    assert run.code == 1 and run.outputs["outcome"] == "failed"
    assert "rate limit exhausted" in run.stdout
    assert f"resets at {reset:%H:%M:%S} UTC" in run.stdout
