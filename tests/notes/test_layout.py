"""Sections, exclusions and release.yml (#11): the invariants over generated histories and settings,
and the one-line errors a malformed release.yml gets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patchpush.errors import NotesError
from patchpush.models import Change, ChangeSet
from patchpush.notes import layout, release_config
from patchpush.notes.offline import BREAKING, SECTION_ORDER, section_of, write_offline

LABELS = [
    "bug",
    "enhancement",
    "documentation",
    "dependencies",
    "skip-changelog",
    "type: bug",
    "kind/feature",
    "breaking-change",
    "ignore-for-release",
    "experimental",
    "Semver-Major",
]
SUBJECTS = [
    "feat: a",
    "fix(x)!: b",
    "Add c",
    "Fix d",
    "Bump e from 1 to 2",
    "Remove f",
    "Tweak g",
    "docs: h",
    "ci: i",
    "v1.2.3",
    "Merge stable into main",
    "Deprecate j",
    'Revert "feat: a"',
]
AUTHORS = ["alice", "bob", "dependabot", "octocat"]
FILES = [(), ("docs/a.md",), ("tests/test_a.py",), (".github/workflows/ci.yml",), ("src/a.py",)]


@st.composite
def changesets(draw: st.DrawFn) -> ChangeSet:
    changes = []
    for n in range(draw(st.integers(0, 25))):
        pr = draw(st.one_of(st.none(), st.integers(1, 8)))
        subject = draw(st.sampled_from(SUBJECTS))
        changes.append(
            Change(
                sha=f"{n:040x}",
                subject=subject,
                description=subject,
                type=subject.split(":")[0].split("(")[0] if ":" in subject else None,
                breaking="!" in subject,
                pr_number=pr,
                # One pull request, one set of labels and one author, as both collectors give.
                pr_labels=tuple(draw(st.lists(st.sampled_from(LABELS), max_size=3))) if pr else (),
                pr_author=AUTHORS[pr % len(AUTHORS)] if pr else None,
                author_name=draw(st.sampled_from(AUTHORS)),
                files=draw(st.sampled_from(FILES)),
            )
        )
    # Labels belong to the pull request: every commit of one PR carries the first commit's.
    first: dict[int, Change] = {}
    fixed = []
    for c in changes:
        lead = first.setdefault(c.pr_number, c) if c.pr_number else c
        fixed.append(Change(**{**c.__dict__, "pr_labels": lead.pr_labels}))
    return ChangeSet(repository="o/r", head="f" * 40, changes=tuple(fixed))


RELEASE_FILES = [
    None,
    "changelog:\n  exclude:\n    labels: [ignore-for-release]\n    authors: [dependabot]\n",
    "changelog:\n  categories:\n    - title: Breaking\n      labels: [Semver-Major]\n"
    "    - title: New\n      labels: [enhancement]\n      exclude: {labels: [experimental]}\n"
    '    - title: Rest\n      labels: ["*"]\n',
    "changelog:\n  categories:\n    - title: Bugs\n      labels: [bug]\n      exclude: {authors: [bob]}\n",
]


@given(
    changes=changesets(),
    maintenance=st.sampled_from(["collapse", "list", "hide"]),
    hide=st.lists(st.sampled_from([*SECTION_ORDER, "Rest", "Bugs"]), max_size=2),
    release=st.sampled_from(RELEASE_FILES),
)
def test_every_change_is_described_once_or_left_out_with_a_rule(
    changes: ChangeSet, maintenance: layout.Maintenance, hide: list[str], release: str | None
) -> None:
    rules = layout.rules(
        maintenance=maintenance,
        hide=hide,
        titles=[("Fixes", "Bug fixes"), ("Performance", "Bug fixes")],
        release=release_config.parse(release),
    )
    kept = layout.leave_out(changes, rules)
    notes = layout.arrange(write_offline(kept), kept, rules)
    cited = [sha for s in notes.sections for i in s.items for sha in i.shas]
    assert len(cited) == len(set(cited))
    assert sorted(cited) == sorted(c.sha for c in kept.changes)
    assert sorted([*cited, *(x.sha for x in kept.left_out)]) == sorted(c.sha for c in changes.changes)
    assert all(x.rule for x in kept.left_out)
    titles = [s.title for s in notes.sections]
    assert len(titles) == len(set(titles)) and all(s.items for s in notes.sections)
    assert "Fixes" not in titles
    assert all(
        s.collapsed == (s.title == "Maintenance" and maintenance == "collapse") for s in notes.sections
    )
    if maintenance == "hide":
        assert "Maintenance" not in titles
    # A pull request's commits stay together: in one item, or all left out by one rule.
    for number in {c.pr_number for c in changes.changes if c.pr_number}:
        shas = {c.sha for c in changes.changes if c.pr_number == number}
        items = [i for s in notes.sections for i in s.items if shas & set(i.shas)]
        rules_used = {x.rule for x in kept.left_out if x.sha in shas}
        assert (len(items) == 1 and set(items[0].shas) == shas and not rules_used) or (
            not items and len(rules_used) == 1
        )


@given(changes=changesets())
def test_a_breaking_change_is_first_and_a_typed_change_sits_in_its_types_section(changes: ChangeSet) -> None:
    notes = write_offline(changes)
    for section in notes.sections:
        for item in section.items:
            lead = next(c for c in changes.changes if c.sha == item.shas[0])
            assert section.title == section_of(lead)
            if lead.breaking:
                assert section.title == BREAKING


def test_skip_changelog_leaves_a_pull_request_out_even_without_release_yml() -> None:
    changes = ChangeSet(
        repository="o/r",
        head="f" * 40,
        changes=(
            Change(sha="a" * 40, subject="Fix a", pr_number=3, pr_labels=("no-changelog",)),
            Change(sha="b" * 40, subject="Fix b", pr_number=3, pr_labels=("no-changelog",)),
            Change(sha="c" * 40, subject="Fix c"),
        ),
    )
    kept = layout.leave_out(changes, layout.rules())
    assert [c.sha[0] for c in kept.changes] == ["c"]
    assert [(x.sha[0], x.rule, x.subject) for x in kept.left_out] == [
        ("a", "skip-changelog", "Fix a"),
        ("b", "skip-changelog", "Fix b"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("changelog: [1, 2]", "`changelog` must be a mapping"),
        (
            "changelog:\n  categories:\n    - labels: [bug]\n",
            "`changelog.categories[0].title` must be a non-empty",
        ),
        (
            "changelog:\n  categories:\n    - title: Bugs\n",
            "`changelog.categories[0].labels` must list at least",
        ),
        (
            "changelog:\n  exclude:\n    labels: {a: 1}\n",
            "`changelog.exclude.labels` must be a list of names",
        ),
        ("changelog:\n  exclude: [a]\n", "`changelog.exclude` must be a mapping"),
        ("changelog: {\n", "is not valid YAML"),
        ("- just\n- a list\n", "must be a mapping with a `changelog` key"),
        ("changelog:\n  exclude:\n    labels: [" + "x, " * 70_000 + "x]\n", "is larger than 64 KB"),
        (
            "changelog:\n  categories:\n" + "    - {title: t, labels: [a]}\n" * 51,
            "has more than 50 categories",
        ),
    ],
)
def test_a_malformed_release_yml_gets_one_line_that_names_the_key(text: str, message: str) -> None:
    with pytest.raises(NotesError) as caught:
        release_config.parse(text)
    assert message in caught.value.message
    assert "\n" not in caught.value.message
    assert caught.value.hint and "release-config: none" in caught.value.hint


def test_release_yml_without_changelog_is_ignored_as_github_does() -> None:
    assert release_config.parse("") is None
    assert release_config.parse("other: 1\n") is None
    assert release_config.parse(None) is None


def test_yaml_tags_that_would_build_objects_are_refused() -> None:
    with pytest.raises(NotesError, match="is not valid YAML"):
        release_config.parse("changelog: !!python/object/apply:os.system ['echo hi']\n")
