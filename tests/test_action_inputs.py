"""Every bad input fails before any work: exit 1, one line saying what to do, only the failure log written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.action_runner import run_action

BAD_INPUTS = [
    ({"mode": "append"}, "input 'mode' has an unknown value 'append' (use one of: overwrite, prepend)"),
    ({"since": "last tuesday"}, "input 'since' has an unparseable value 'last tuesday'"),
    ({"since": "2026-13-45"}, "input 'since' has an unparseable date '2026-13-45'"),
    ({"file": "/etc/passwd"}, "input 'file' must be relative to the repository root, not '/etc/passwd'"),
    ({"file": "docs/../../x.md"}, "input 'file' must stay inside the repository, not 'docs/../../x.md'"),
    ({"file": ".github/workflows/notes.yml"}, "input 'file' must not point into .github/workflows/"),
    ({"max-commits": "-5"}, "input 'max-commits' must be at least 1, not -5"),
    ({"max-commits": "many"}, "input 'max-commits' must be a whole number, not 'many'"),
    (
        {"provider": "anthropic"},
        "input 'provider' has an unknown value 'anthropic' (use one of: auto, openai",
    ),
    ({"provider": "azure"}, "provider 'azure' needs base-url, the resource's endpoint"),
    ({"dry-run": "maybe"}, "input 'dry-run' must be true or false, not 'maybe'"),
    ({"on-protected-branch": "force"}, "input 'on-protected-branch' has an unknown value 'force'"),
    ({"base-url": "ftp://models.local"}, "input 'base-url' must be an http(s) URL, not 'ftp://models.local'"),
    ({"timeout": "0"}, "input 'timeout' must be at least 1, not 0"),
    ({"max-input-tokens": "10"}, "input 'max-input-tokens' must be at least 500, not 10"),
    ({"github-token": ""}, "input 'github-token' is empty"),
    ({"repository": "not a repo"}, "input 'repository' must be owner/name, not 'not a repo'"),
    ({"timeout": "nan"}, "input 'timeout' must be a number of seconds, not 'nan'"),
    ({"timeout": "inf"}, "input 'timeout' must be at most 3600, not inf"),
    ({"since": "99999999d"}, "input 'since' reaches back more than 100 years: '99999999d'"),
    ({"base-url": "http://[fd00:ec2::254]/v1"}, "input 'base-url' points at a cloud metadata address"),
    ({"branch": "main\n::error::x"}, "input 'branch' contains a line break"),
]


@pytest.mark.parametrize(
    ("inputs", "message"),
    BAD_INPUTS,
    ids=[next(iter(i)) + "=" + next(iter(i.values())) for i, _ in BAD_INPUTS],
)
def test_bad_input(tmp_path: Path, inputs: dict[str, str], message: str) -> None:
    run = run_action(tmp_path, {"github-token": "test-token", **inputs})
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert run.code == 1
    assert len(errors) == 1 and message in errors[0], run.stdout
    assert run.outputs["outcome"] == "failed"
    written = sorted(str(p.relative_to(run.workspace)) for p in run.workspace.rglob("*") if p.is_file())
    assert written == ["logs/patch_failures.log"]
    log = (run.workspace / "logs/patch_failures.log").read_text()
    assert message in log and "(stage: settings)" in log
    assert "failed" in run.summary and message.split(" (use")[0] in run.summary


def test_hyphenated_input_names_reach_settings(tmp_path: Path) -> None:
    run = run_action(tmp_path, {"github-token": "test-token", "failure-log": "out/fail.log", "mode": "x"})
    assert (run.workspace / "out/fail.log").exists()
    assert run.outputs["failure-log"] == "out/fail.log"


def test_the_token_never_reaches_the_log_or_outputs(tmp_path: Path) -> None:
    token = "s3cr3t-token-value-for-tests"
    run = run_action(tmp_path, {"github-token": token, "since": f"bad {token}"})
    assert run.code == 1
    assert f"::add-mask::{token}" in run.stdout.splitlines()[0]
    rest = "\n".join(run.stdout.splitlines()[1:])
    for text in (
        rest,
        run.summary,
        "\n".join(run.outputs.values()),
        (run.workspace / "logs/patch_failures.log").read_text(),
    ):
        assert token not in text
