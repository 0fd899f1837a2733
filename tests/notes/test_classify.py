"""The kind of an untyped change, from its labels, paths and subject (README "Sections", #11)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patchpush.models import Change
from patchpush.notes.classify import kind_of, label_kind, subject_kind
from patchpush.notes.offline import SECTIONS

# Every kind the classifier may give has a section: none falls through to "Other changes" unseen.
KINDS = {kind for _, kinds in SECTIONS for kind in kinds}


@pytest.mark.parametrize(
    ("subject", "kind"),
    [
        ("Add a --json flag", "feat"),
        ("Supports YAML", "feat"),
        ("Formalize 3.15 support", "feat"),
        ("Fixed a crash on start", "fix"),
        ("Don't hide navigation on mobile", "fix"),
        ("Move Request.headers back to Mapping", "fix"),
        ("`types`: fix variance issues", "fix"),
        ("Constrain Response.reason to str", "fix"),
        ("Deprecate the old API", "deprecate"),
        ("Mark functions private. Deprecated Python 2 utilities.", "deprecate"),
        ("Speed up parsing", "perf"),
        ("Speed matters", None),
        ("Bump requests from 2.31.0 to 2.32.0", "deps"),
        ("Update urllib3 to 2.2.1", "deps"),
        ("Update the default theme", None),
        ("Remove the legacy importer", None),
        ("Fix typos discovered by codespell", "docs"),
        ("Add 3.14t support to CI", "chore"),
        ("Add tests for LookupDict", "chore"),
        ("v2.34.2", "chore"),
        ("Release version 8.5.0", "chore"),
        ("start version 8.5.0", "chore"),
        ("Pre-8.5.0 release changelog and doc fixes", "chore"),
        ("Merge stable into main", "chore"),
        ("Merge `stable` into `main` after the docs move", "chore"),
        ("bench: measure start-up", "chore"),
        ("README: a better first command", "docs"),
        ("cli: add --context", "feat"),
        ("Tweak widget 12", None),
        ("", None),
    ],
)
def test_subject(subject: str, kind: str | None) -> None:
    assert subject_kind(subject) == kind


@pytest.mark.parametrize(
    ("labels", "kind"),
    [
        (["bug"], "fix"),
        (["type: bug"], "fix"),
        (["Type: Bug"], "fix"),
        (["kind/feature"], "feat"),
        (["enhancement"], "feat"),
        (["documentation"], "docs"),
        (["dependencies"], "deps"),
        (["security"], "security"),
        (["question", "fix"], "fix"),
        (["question"], None),
    ],
)
def test_labels(labels: list[str], kind: str | None) -> None:
    assert label_kind(labels) == kind


def test_evidence_order_type_then_labels_then_paths_then_subject() -> None:
    tests_only = ("tests/test_a.py",)
    assert kind_of(Change(sha="a", subject="x", type="feat", pr_labels=("bug",))) == "feat"
    assert kind_of(Change(sha="a", subject="Add x", pr_labels=("bug",), files=tests_only)) == "fix"
    assert kind_of(Change(sha="a", subject="Fix x", files=tests_only)) == "test"
    assert kind_of(Change(sha="a", subject="Fix x", files=(*tests_only, "src/a.py"))) == "fix"
    assert kind_of(Change(sha="a", subject="Tweak", files=("docs/a.md", "README.md"))) == "docs"
    assert kind_of(Change(sha="a", subject="Tweak", files=(".github/workflows/ci.yml",))) == "ci"


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=80))
def test_any_subject_gets_a_kind_or_none_and_never_an_error(subject: str) -> None:
    # psf/requests' full history has a subject whose first word is only punctuation ("..."):
    # that once raised IndexError, an exit 2 on a real repository.
    assert subject_kind(subject) in {None, *KINDS}
    assert subject_kind("... " + subject) in {None, *KINDS}
