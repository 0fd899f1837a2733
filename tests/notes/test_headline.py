"""The title and summary checks on real releases: what the models wrote that was not about the
release is caught, and what names its changes is kept."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patchpush.collect.conventional import is_release_commit
from patchpush.models import Change, ChangeSet
from patchpush.notes.attribution import terms
from patchpush.notes.headline import claims_missing_kind, is_raw_subject, names_another_version, substance
from tests.notes.ranges import (
    ANGULAR_CLI,
    CHANGES,
    CLAUSES,
    COMMITIZEN,
    GIT_CLIFF_2_11,
    HARD,
    PARAPHRASES,
    VITE_8_2_2,
)


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("chore(release): prepare for v2.13.0", True),
        ("feat!: drop Python 3.8", True),
        ("Add per-commit statistics (#1487)", True),
        ("migrate logging to tracing", True),
        ("git-cliff 2.13.0: statistics, tracing and more config locations", False),
        ("Highlights: faster CI", False),
    ],
)
def test_a_title_that_is_a_commit_subject_or_header_is_raw(text: str, raw: bool) -> None:
    subjects = [s for c in CHANGES.changes for s in (c.subject, c.description, c.pr_title or "")]
    assert is_raw_subject(text, subjects) is raw


@pytest.mark.parametrize(
    ("changes", "summary", "kept"),
    [
        (  # the 0.5B model's summary of git-cliff v2.11.0: its opening says nothing
            GIT_CLIFF_2_11,
            "Prepare for the release of version 2.11.0 by preparing for the release of version 2.11.0. "
            "This release includes several maintenance tasks to improve the generation API.",
            "",
        ),
        (
            GIT_CLIFF_2_11,
            "This release improves the generation API. The sections are divided into two: Maintenance (2).",
            "This release improves the generation API.",
        ),
        (GIT_CLIFF_2_11, "This release brings many improvements.", ""),
        (GIT_CLIFF_2_11, "Version 2.11.0 is out. Thanks to all contributors!", ""),
        (GIT_CLIFF_2_11, "", ""),
        (
            GIT_CLIFF_2_11,
            "git-cliff can fail on unmatched commits and talks to Azure DevOps. New regex filters too.",
            "git-cliff can fail on unmatched commits and talks to Azure DevOps. New regex filters too.",
        ),
        (  # the 0.5B model's summary of angular-cli v21.2.2: 10.31.0 is the pnpm update's version
            ANGULAR_CLI,
            "This release updates the Angular CLI to version 10.31.0, which includes several improvements.",
            "",
        ),
        (
            ANGULAR_CLI,
            "Version 21.2.2 updates pnpm to 10.31.0. It also updates the Angular CLI to version 3.0.2.",
            "Version 21.2.2 updates pnpm to 10.31.0.",
        ),
        (  # as the 1.5B model summed up angular-cli v21.2.1: no change of the release is about security
            ANGULAR_CLI,
            "This release updates pnpm to 10.31.0. It brings build tools updates and security enhancements.",
            "This release updates pnpm to 10.31.0.",
        ),
    ],
)
def test_a_summary_keeps_only_the_sentences_that_say_something_true(
    changes: ChangeSet, summary: str, kept: str
) -> None:
    assert substance(summary, changes) == kept


def test_only_a_release_with_a_kind_of_change_may_claim_it() -> None:
    assert claims_missing_kind("Angular CLI Breaking Changes", ANGULAR_CLI.changes)
    assert not claims_missing_kind("Angular CLI 21.2.2", ANGULAR_CLI.changes)
    breaking = replace(ANGULAR_CLI.changes[3], breaking=True)
    assert not claims_missing_kind("Breaking changes to the builder", [*ANGULAR_CLI.changes, breaking])
    # The 1.5B model's summary of angular-cli v21.2.1, which has no security change.
    assert claims_missing_kind("Updates to build tools and security enhancements.", ANGULAR_CLI.changes)
    assert not claims_missing_kind("Updates to build tools.", ANGULAR_CLI.changes)
    security = replace(ANGULAR_CLI.changes[3], type="security")
    assert not claims_missing_kind("A security fix.", [*ANGULAR_CLI.changes, security])


@given(
    st.sampled_from([c for c in CHANGES.changes if not is_release_commit(c.subject)]),
    st.booleans(),
    st.sampled_from(["", "Thanks to everyone who helped."]),
)
def test_a_sentence_naming_any_change_is_kept(change: Change, title: bool, hollow: str) -> None:
    named = (change.pr_title or change.description) if title else change.description
    if terms(named) - {t for t in terms(named) if t[:1].isdigit()}:  # "2.13.0" alone names nothing
        summary = f"This release: {named}. {hollow}".strip()
        assert substance(summary, CHANGES) == f"This release: {named}."


def test_faithful_sentences_as_a_summary_are_mostly_kept() -> None:
    """Of the 105 paraphrases read as summary sentences, 4 that say something true are dropped
    (measured), where the words they name are in no subject; the 2 about the release alone are right
    to go. A dropped opening gives the offline summary, which is never wrong."""
    dropped = [p for p in PARAPHRASES + CLAUSES + HARD if substance(p, CHANGES) != p]
    assert dropped == [
        "Version 2.13.0 is ready for release.",
        "The minimum supported Rust version is now 1.87.0.",
        "Everything is ready for the 2.13.0 release.",
        "Alpine Linux users get Python packages from the package index again.",
        "Diagnostics now use spans and structured events.",
        "Rust 1.87 or newer is needed to build.",
    ]


@pytest.mark.parametrize(
    ("title", "wrong"),
    [
        ("Commitizen 4.0.0 Release Notes", True),  # the 1.5B model's title of v4.10.0
        ("Commitizen 4.10.0 Release Notes", False),
        ("Commitizen v4.10.0", False),
        ("Commitizen: amend! prefixes and line length warnings", False),
    ],
)
def test_a_title_naming_another_release_is_wrong(title: str, wrong: bool) -> None:
    assert names_another_version(title, COMMITIZEN) is wrong


def test_a_summary_echoing_the_prompt_is_not_about_the_release() -> None:
    # The 0.5B model's summary of vite v8.2.2; the prompt asks for "JSON matching the schema". JSON
    # alone is a word of the release ("use JSON import attributes"), the schema is not.
    echo = (
        "Release 8.2.2 includes several changes to improve JSON matching in the generated README, "
        "as well as several fixes in the JSON matching schema used by Vite."
    )
    assert substance(echo, VITE_8_2_2) == ""
    true = "Vite 8.2.2 uses JSON import attributes and respects resolve.preserveSymlinks."
    assert substance(true, VITE_8_2_2) == true
