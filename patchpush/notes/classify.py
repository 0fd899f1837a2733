"""Which kind of change a commit is, when its message does not say so in Conventional Commit form.

One kind per change, from the strongest evidence down (see README "Sections"):
its Conventional Commit type, its pull request's labels, the paths it touches (when they are all
documentation, or all tests/CI/build files), its subject's leading verb, and a few subject words.
Kinds are the Conventional Commit types the offline writer files into sections.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from patchpush.models import Change

# PR labels as GitHub creates them by default, and the variants projects commonly use.
# Compared lower-cased, after stripping prefixes like "type: ", "kind/", "t-" (see _label_words).
_LABEL_KINDS = {
    "bug": "fix",
    "bugfix": "fix",
    "fix": "fix",
    "regression": "fix",
    "enhancement": "feat",
    "feature": "feat",
    "feat": "feat",
    "new feature": "feat",
    "documentation": "docs",
    "docs": "docs",
    "doc": "docs",
    "dependencies": "deps",
    "deps": "deps",
    "dependency": "deps",
    "security": "security",
    "performance": "perf",
    "perf": "perf",
    "deprecation": "deprecate",
    "deprecated": "deprecate",
    "refactor": "refactor",
    "refactoring": "refactor",
    "test": "test",
    "tests": "test",
    "testing": "test",
    "ci": "ci",
    "build": "build",
    "chore": "chore",
    "maintenance": "chore",
    "internal": "chore",
    "github_actions": "ci",
    "github-actions": "ci",
}
BREAKING_LABELS = frozenset(
    {"breaking", "breaking-change", "breaking change", "breaking-changes", "semver:major", "semver-major"}
)
_LABEL_PREFIX = re.compile(r"^(?:type|kind|t|area|category|pr|changelog)\s*[:/-]\s*")


def _kinds(words: str, kind: str) -> dict[str, str]:
    return dict.fromkeys(words.split(), kind)


# The subject's first word (lower-cased, with its usual inflections) -> kind.
_VERBS = {
    **_kinds(
        "add adds added support supports introduce introduces introduced allow allows allowed "
        "implement implements implemented enable enables expose exposes new",
        "feat",
    ),
    **_kinds(
        "fix fixes fixed correct corrects corrected resolve resolves resolved prevent prevents avoid "
        "avoids handle handles repair preserve preserves restore restores bugfix hotfix",
        "fix",
    ),
    **_kinds("improve improves improved enhance enhances enhanced", "feat"),
    # Narrowing or widening an API's accepted types is how typed libraries fix their typing.
    **_kinds("constrain narrow widen tighten relax", "fix"),
    **_kinds("deprecate deprecates deprecated", "deprecate"),
    **_kinds("optimize optimise optimized speed accelerate", "perf"),
    **_kinds("document documents documented clarify", "docs"),
    **_kinds("refactor refactored cleanup clean simplify streamline reorganize tidy lint", "refactor"),
    **_kinds("bump upgrade upgrades upgraded", "deps"),
    **_kinds("release released backport prepare", "chore"),
    # Removing is a change users notice, but not a breaking one without a label or a "!" (#11).
    **_kinds("remove removes removed drop drops dropped", ""),
}
# "Update X to 1.2" and "Bump X from 1.1 to 1.2" are dependency updates; "Update the docs" is not.
_DEPS = re.compile(r"^(?:update|upgrade|bump|pin|unpin)\s+\S+(?:\s+\S+)?\s+(?:from\s+\S+\s+)?to\s+v?\d", re.I)
_NOT = re.compile(r"^(?:don't|do not|never|no longer)\s", re.I)
# Release bookkeeping and branch syncs: "v2.34.2", "start version 8.5.0", "Merge stable into main".
_HOUSEKEEPING = re.compile(
    r"^(?:v?\d+(?:\.\d+)+\S*|(?:start|bump|set|fix) (?:the )?(?:dev )?version\b.*|"
    r"(?:release|prepare|pre-\S+ release)\b.*|merge (?:branch |remote-tracking branch )?\S+ into \S+.*|"
    r"merge (?:main|master|stable|develop)\b.*)$",
    re.I,
)
_TYPO = re.compile(r"\btypos?\b", re.I)
# What only maintainers run, named anywhere: "Add 3.14t support to CI" is not a feature.
_MAINT_WORDS = re.compile(
    r"\b(?:ci|tests?|test suite|workflows?|nightly|pre-commit|linters?|ruff|mypy|flake8|codespell)\b", re.I
)
# Past the first word: "`types`: fix variance issues", "Move X back to Mapping", typing corrections.
_FIX_WORDS = re.compile(
    r"\b(?:fix(?:es|ed)?|bugs?|regressions?|crash(?:es)?|back to|typing|type hints?|type annotations?|"
    r"type alias(?:es)?|type coverage)\b",
    re.I,
)
_DOCS_WORDS = re.compile(r"\b(?:docs?|documentation|docstrings?|readme|changelog|faq)\b", re.I)
# "Formalize 3.15 support": support for something new, named past the first word.
_FEATURE_WORDS = re.compile(r"\bsupport\b", re.I)
# "Mark functions private. Deprecated Python 2 utilities."
_DEPRECATION_WORDS = re.compile(r"\bdeprecat(?:e|es|ed|ion|ions)\b", re.I)

_ANY_WORD = re.compile(
    "|".join(
        p.pattern for p in (_TYPO, _MAINT_WORDS, _FIX_WORDS, _DOCS_WORDS, _FEATURE_WORDS, _DEPRECATION_WORDS)
    ),
    re.I,
)
_HOUSEKEEPING_FIRST = frozenset(
    ["start", "bump", "set", "fix", "release", "release:", "prepare", "merge", "pre-release"]
)
_DEPS_FIRST = frozenset(["update", "upgrade", "bump", "pin", "unpin"])
_NOT_FIRST = frozenset(["don't", "do", "never", "no"])

_AREA = re.compile(r"^([\w./-]{1,30}):\s+")
_AREA_KINDS = {
    **_kinds("bench benchmarks tests test ci build pyproject deps lint tooling release ruff mypy", "chore"),
    **_kinds("docs doc readme changelog", "docs"),
}

_DOC_DIRS = ("docs/", "doc/", "documentation/", "examples/", "example/", "website/", "site/")
_DOC_FILES = re.compile(
    r"(?:^|/)(?:readme|changes|changelog|history|contributing|authors|news)[^/]*$|\.(?:md|rst|adoc)$", re.I
)
_TEST_PATH = re.compile(
    r"(?:^|/)(?:tests?|__tests__|spec|testdata|fixtures)/|(?:^|/)(?:test_[^/]*|[^/]*_test\.\w+|[^/]*\.(?:test|spec)\.\w+|conftest\.py)$"
)
# Type stubs and private type modules: a change to them alone corrects the published typing.
_TYPING_PATH = re.compile(r"(?:^|/)(?:_types\.py|_typing\.py|py\.typed|[^/]*\.pyi)$")
_CI_PATH = re.compile(
    r"^(?:\.github/|\.circleci/|\.gitlab-ci|\.pre-commit-config|\.readthedocs|tox\.ini|noxfile\.py|"
    r"azure-pipelines|\.travis|\.editorconfig|\.gitignore|\.gitattributes|\.devcontainer/|codecov)"
)
_BUILD_PATH = re.compile(
    r"(?:^|/)(?:requirements[^/]*\.(?:txt|in)|[^/]*\.lock|package-lock\.json|pnpm-lock\.yaml|"
    r"yarn\.lock|poetry\.lock|uv\.lock|Cargo\.lock|go\.sum|MANIFEST\.in|Makefile|Dockerfile)$"
)


def kind_of(change: Change) -> str | None:
    """The change's kind (a Conventional Commit type, or "deprecate"), or None when nothing tells."""
    return (
        change.type
        or label_kind(change.pr_labels)
        or _from_paths(change.files)
        or subject_kind(change.description or change.subject)
    )


def label_kind(labels: Iterable[str]) -> str | None:
    for word in _label_words(labels):
        if word in _LABEL_KINDS:
            return _LABEL_KINDS[word]
    return None


def has_breaking_label(labels: Iterable[str]) -> bool:
    return any(word in BREAKING_LABELS for word in _label_words(labels))


def _label_words(labels: Iterable[str]) -> list[str]:
    return [_LABEL_PREFIX.sub("", label.strip().lower()) for label in labels]


def subject_kind(subject: str) -> str | None:
    """From the subject's leading verb, else from telling words ("typo", "CI", "tests")."""
    text = subject.strip().lstrip("`*_[").strip()
    if not text:
        return None
    if ": " in text and (area := _AREA.match(text)):
        # "bench: ..." or "cli: add a flag": the area can tell, else what follows it.
        name = area.group(1).lower()
        if name in _AREA_KINDS:
            return _AREA_KINDS[name]
        text = text[area.end() :].strip() or text
    first = text.split(None, 1)[0].rstrip(":,.").lower()
    # Each pattern runs only when the first word can start it: this runs on every untyped commit.
    maybe_housekeeping = first in _HOUSEKEEPING_FIRST or first[:1].isdigit() or first[:1] == "v"
    if (maybe_housekeeping or first.startswith("pre-")) and _HOUSEKEEPING.match(text):
        return "chore"
    if first in _DEPS_FIRST and _DEPS.match(text):
        return "deps"
    words = _ANY_WORD.search(text) is not None
    if words and _TYPO.search(text):
        return "docs"
    if words and _MAINT_WORDS.search(text):
        return "chore"
    if first in _NOT_FIRST and _NOT.match(text):
        return "fix"
    if first == "speed" and not text.lower().startswith("speed up"):
        first = ""
    if first in _VERBS:
        return _VERBS[first] or None
    if words and _DEPRECATION_WORDS.search(text):
        return "deprecate"
    if words and _FIX_WORDS.search(text):
        return "fix"
    if words and _DOCS_WORDS.search(text):
        return "docs"
    if words and _FEATURE_WORDS.search(text):
        return "feat"
    return None


def _from_paths(files: tuple[str, ...]) -> str | None:
    """Only conclusive paths decide: all documentation, or all tests/CI/build files."""
    if not files:
        return None
    docs = tests = tooling = typing = 0
    for path in files:
        if path.startswith(_DOC_DIRS) or _DOC_FILES.search(path):
            docs += 1
        elif _TYPING_PATH.search(path):
            typing += 1
        elif _TEST_PATH.search(path):
            tests += 1
        elif _CI_PATH.match(path) or _BUILD_PATH.search(path):
            tooling += 1
        else:
            return None  # source code: the paths alone cannot tell a feature from a fix
    if typing:
        return "fix" if not (docs or tests or tooling) else None
    if docs and not (tests or tooling):
        return "docs"
    if tests and not (docs or tooling):
        return "test"
    if tooling and not docs:
        return "ci" if all(_CI_PATH.match(p) for p in files) else "build"
    return None  # docs together with tests or tooling: a maintainer would call it either
