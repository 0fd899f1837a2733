"""Turn a raw commit (message, author) into a `Change`: Conventional Commit fields, PR number, co-authors.

Both collectors share it, so a commit reads the same whether it came from `git log` or the REST API.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from patchpush.models import Change

# type(scope)!: description  -- https://www.conventionalcommits.org/en/v1.0.0/#specification
_HEADER = re.compile(r"^(?P<type>[A-Za-z]+)(?:\((?P<scope>[^()\r\n]*)\))?(?P<bang>!)?: +(?P<desc>\S.*)$")
_BREAKING_FOOTER = re.compile(r"^BREAKING[ -]CHANGE: *(?P<text>.*)$", re.MULTILINE)
_SQUASH_PR = re.compile(r"\s\(#(?P<n>\d+)\)\s*$")
_MERGE_PR = re.compile(r"^Merge pull request #(?P<n>\d+) from \S+")
_REVERT_SUBJECT = re.compile(r'^Revert "(?P<orig>.*)"$')
_REVERT_BODY = re.compile(r"This reverts commit (?P<sha>[0-9a-f]{7,40})")
_CO_AUTHOR = re.compile(r"^Co-authored-by: *(?P<who>.+?) *<[^>]*> *$", re.MULTILINE | re.IGNORECASE)

# Types we read as Conventional Commit types. Anything else before a colon ("README: ...",
# "cli: ...") is a plain subject: kept whole under "Other changes" rather than losing its first word.
TYPES = frozenset(
    {
        "feat",
        "feature",
        "fix",
        "bugfix",
        "hotfix",
        "perf",
        "security",
        "sec",
        "revert",
        "refactor",
        "docs",
        "doc",
        "test",
        "tests",
        "build",
        "ci",
        "chore",
        "deps",
        "style",
    }
)

# The trailer that marks patch-push's own commits, so that no run ever describes them.
OWN_TRAILER = "Patch-Push-Notes: true"

# Release and version-bump commits, which real changelogs leave out (the `release` noise rule):
# release-please, git-cliff, commitizen, bump2version, and the plain subjects projects write by hand.
_RELEASE = re.compile(
    r"^(?:"
    r"chore(?:\([^)]*\))?: release(?: [\w/.-]+?)?[ @]v?\d[\w.+-]*"
    r"|chore(?:\([^)]*\))?: release (?:main|master)"
    r"|chore\(release\): prepare for v?\d[\w.+-]*"
    r"|bump: version \S+ (?:→|->) \S+"
    r"|bump version: \S+ (?:→|->) \S+"
    r"|release:? v?\d[\w.+-]*"
    r"|release version v?\d[\w.+-]*"
    r"|(?:bump(?:ed)?|update|set) version(?: to| from \S+ to)? v?\d[\w.+-]*"
    r"|bump to (?:dev|next) version"
    r"|(?:release: )?version bump"
    r"|v?\d+(?:\.\d+)+(?:[-+][\w.+-]+)?"
    r")(?:\s\(#\d+\))?\s*$",
    re.IGNORECASE,
)
# `git commit --fixup` and friends: `fixup! <subject of the target>`.
_FIXUP = re.compile(r"^(?:fixup|squash|amend)! +(?P<target>.+)$")


def subject_pr(subject: str) -> int | None:
    """The pull request a subject names: GitHub's merge subject, or a squash subject ending in `(#N)`."""
    if subject.startswith("Merge pull request #") and (match := _MERGE_PR.match(subject)):
        return int(match.group("n"))
    if "(#" in subject and (match := _SQUASH_PR.search(subject)):
        return int(match.group("n"))
    return None


def headline(subject: str) -> str:
    """The subject without a squash merge's `(#N)`."""
    if "(#" in subject and (match := _SQUASH_PR.search(subject)):
        return subject[: match.start()].rstrip()
    return subject


def is_release_commit(subject: str) -> bool:
    return _RELEASE.match(subject) is not None


def fixup_target(subject: str) -> str | None:
    """The subject a `fixup!`, `squash!` or `amend!` commit points at (nested ones at the innermost)."""
    target = None
    while subject[:7].lower() in ("fixup! ", "squash!", "amend! ") and (match := _FIXUP.match(subject)):
        target = subject = match.group("target").strip()
    return target


def parse(
    *,
    sha: str,
    message: str,
    author_name: str = "",
    author_email: str = "",
    author_login: str | None = None,
    date: str = "",
    parents: tuple[str, ...] = (),
) -> Change:
    subject, _, body = message.strip("\n").partition("\n")
    subject = subject.strip()
    body = body.strip("\n")
    pr_number: int | None = None
    pr_title: str | None = None
    headline = subject
    # Cheap substring tests guard each regex: this runs once per commit, 50,000 times on large ranges.
    if subject.startswith("Merge pull request #") and (match := _MERGE_PR.match(subject)):
        pr_number = int(match.group("n"))
        # A merge commit's first body line is the pull request's title.
        first_body_line = body.strip().split("\n", 1)[0].strip()
        if first_body_line:
            headline = pr_title = first_body_line
    elif "(#" in subject and (match := _SQUASH_PR.search(subject)):
        pr_number = int(match.group("n"))
        # GitHub's squash subject is the pull request's title and number.
        headline = pr_title = subject[: match.start()].rstrip()
    reverts = None
    if headline[:6].lower() == "revert" and (
        _REVERT_SUBJECT.match(headline) or headline.lower().startswith("revert:")
    ):
        found = _REVERT_BODY.search(body)
        reverts = found.group("sha") if found else ""
    ctype = scope = None
    breaking = False
    description = headline
    if (match := _HEADER.match(headline)) and match.group("type").lower() in TYPES:
        ctype = match.group("type").lower()
        scope = (match.group("scope") or "").strip() or None
        breaking = bool(match.group("bang"))
        description = match.group("desc").strip()
    if "BREAKING" in body and _BREAKING_FOOTER.search(body):
        breaking = True
    if reverts is not None and ctype is None:
        ctype = "revert"
        if orig := _REVERT_SUBJECT.match(headline):
            description = orig.group("orig")
    co_authors: tuple[str, ...] = ()
    if "uthored-by" in body:
        co_authors = tuple(dict.fromkeys(m.group("who") for m in _CO_AUTHOR.finditer(body)))
    return Change(
        sha=sha,
        subject=subject,
        body=body,
        author_name=author_name,
        author_email=author_email,
        author_login=author_login,
        date=date,
        parents=parents,
        type=ctype,
        scope=scope,
        breaking=breaking,
        description=description,
        reverts=reverts,
        co_authors=co_authors,
        pr_number=pr_number,
        pr_title=pr_title,
    )


def is_own_commit(message: str) -> bool:
    return OWN_TRAILER in message


def is_excluded_author(excluded: set[str], *names: str | None) -> bool:
    """`excluded` holds lower-cased logins, names or e-mail addresses."""
    return any(n and n.lower() in excluded for n in names)


def paths_selected(paths: Iterable[str], include: tuple[str, ...], exclude: tuple[str, ...]) -> bool:
    """A commit stays when any file it touches is included and not excluded (no filters: always)."""
    if not include and not exclude:
        return True
    return any((not include or _matches(path, include)) and not _matches(path, exclude) for path in paths)


def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    # A bare directory (`docs/` or `docs`) means everything under it, as in .gitignore.
    return any(
        fnmatch.fnmatchcase(path, pattern)
        or path.startswith(pattern.rstrip("/") + "/")
        or fnmatch.fnmatchcase(path, pattern.rstrip("/") + "/*")
        for pattern in patterns
    )
