from __future__ import annotations

import pytest

from patchpush.collect.conventional import parse


@pytest.mark.parametrize(
    ("message", "ctype", "scope", "breaking", "description"),
    [
        ("feat(api): add users endpoint", "feat", "api", False, "add users endpoint"),
        ("fix: handle empty input", "fix", None, False, "handle empty input"),
        ("refactor!: drop Python 3.8", "refactor", None, True, "drop Python 3.8"),
        ("feat(cli)!: rename --out", "feat", "cli", True, "rename --out"),
        ("chore: bump\n\nBREAKING CHANGE: config moved", "chore", None, True, "bump"),
        ("Feat: capitalised type", "feat", None, False, "capitalised type"),
        ("Update README", None, None, False, "Update README"),
        ("README: explain install", None, None, False, "README: explain install"),
        ("cli(help): shorter", None, None, False, "cli(help): shorter"),
        (
            "feat:missing space is not conventional",
            None,
            None,
            False,
            "feat:missing space is not conventional",
        ),
    ],
)
def test_conventional_fields(
    message: str, ctype: str | None, scope: str | None, breaking: bool, description: str
) -> None:
    change = parse(sha="a" * 40, message=message)
    assert (change.type, change.scope, change.breaking, change.description) == (
        ctype,
        scope,
        breaking,
        description,
    )


def test_squash_merge_subject_gives_the_pull_request_number() -> None:
    change = parse(sha="a" * 40, message="fix(ui): align buttons (#123)\n\nDetails")
    assert change.pr_number == 123
    assert change.description == "align buttons"


def test_merge_commit_gives_number_and_title_from_the_body() -> None:
    change = parse(sha="a" * 40, message="Merge pull request #77 from alice/feature\n\nfeat: add export")
    assert (change.pr_number, change.pr_title, change.type, change.description) == (
        77,
        "feat: add export",
        "feat",
        "add export",
    )


def test_revert_records_the_reverted_commit() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    change = parse(sha="b" * 40, message=f'Revert "feat: add export"\n\nThis reverts commit {sha}.')
    assert (change.type, change.reverts, change.description) == ("revert", sha, "feat: add export")


def test_co_authors_are_collected_once_each() -> None:
    change = parse(
        sha="a" * 40,
        message="fix: x\n\nCo-authored-by: Ann <a@x>\nCo-authored-by: Bo <b@x>\nco-authored-by: Ann <a@x>",
    )
    assert change.co_authors == ("Ann", "Bo")
