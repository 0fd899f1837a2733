"""`.github/release.yml`, the file GitHub's generated release notes read: categories and exclusions.

https://docs.github.com/en/repositories/releasing-projects-on-github/automatically-generated-release-notes
The file is repository content, so it is untrusted: read with `yaml.safe_load`, bounded in size and
count, and every value must have the documented shape or the run stops with a line naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from patchpush.errors import NotesError

RELEASE_FILE = ".github/release.yml"
MAX_BYTES = 64 * 1024
MAX_CATEGORIES = 50
MAX_NAMES = 200
MAX_TITLE = 80
ANY_LABEL = "*"


@dataclass(frozen=True)
class Exclusions:
    labels: frozenset[str] = frozenset()  # lower-cased
    authors: frozenset[str] = frozenset()  # lower-cased logins

    def match(self, labels: set[str], authors: set[str]) -> str | None:
        """The rule that excludes a change with these (lower-cased) labels and authors, if any."""
        if labels & self.labels:
            return "label"
        if authors & self.authors:
            return "author"
        return None


@dataclass(frozen=True)
class Category:
    title: str
    labels: frozenset[str]  # lower-cased; "*" matches every change
    exclude: Exclusions = Exclusions()

    def takes(self, labels: set[str], authors: set[str]) -> bool:
        if self.exclude.match(labels, authors):
            return False
        return ANY_LABEL in self.labels or bool(labels & self.labels)


@dataclass(frozen=True)
class ReleaseConfig:
    categories: tuple[Category, ...] = ()
    exclude: Exclusions = Exclusions()

    def category(self, labels: set[str], authors: set[str]) -> Category | None:
        """The first category that takes the change, as GitHub files a pull request."""
        return next((c for c in self.categories if c.takes(labels, authors)), None)


def parse(text: str | None, *, name: str = RELEASE_FILE) -> ReleaseConfig | None:
    """None when there is no file, or it has no `changelog` key (GitHub then ignores it too)."""
    if text is None:
        return None
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise _bad(name, f"is larger than {MAX_BYTES // 1024} KB")
    import yaml  # only when there is a file

    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise _bad(name, "is not valid YAML" + (f" at line {line + 1}" if line is not None else "")) from None
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _bad(name, "must be a mapping with a `changelog` key")
    changelog = raw.get("changelog")
    if changelog is None:
        return None
    if not isinstance(changelog, dict):
        raise _bad(name, "`changelog` must be a mapping of `exclude` and `categories`")
    categories = changelog.get("categories") or []
    if not isinstance(categories, list):
        raise _bad(name, "`changelog.categories` must be a list")
    if len(categories) > MAX_CATEGORIES:
        raise _bad(name, f"has more than {MAX_CATEGORIES} categories")
    return ReleaseConfig(
        categories=tuple(_category(name, n, c) for n, c in enumerate(categories)),
        exclude=_exclusions(name, "changelog.exclude", changelog.get("exclude")),
    )


def _category(name: str, n: int, raw: Any) -> Category:
    where = f"changelog.categories[{n}]"
    if not isinstance(raw, dict):
        raise _bad(name, f"`{where}` must be a mapping with `title` and `labels`")
    title = raw.get("title")
    if not isinstance(title, str | int | float) or not str(title).strip():
        raise _bad(name, f"`{where}.title` must be a non-empty string")
    title = " ".join(str(title).split())[:MAX_TITLE]
    labels = _names(name, f"{where}.labels", raw.get("labels"))
    if not labels:
        raise _bad(name, f'`{where}.labels` must list at least one label (or "*")')
    return Category(
        title=title, labels=labels, exclude=_exclusions(name, f"{where}.exclude", raw.get("exclude"))
    )


def _exclusions(name: str, where: str, raw: Any) -> Exclusions:
    if raw is None:
        return Exclusions()
    if not isinstance(raw, dict):
        raise _bad(name, f"`{where}` must be a mapping of `labels` and `authors`")
    return Exclusions(
        labels=_names(name, f"{where}.labels", raw.get("labels")),
        authors=_names(name, f"{where}.authors", raw.get("authors")),
    )


def _names(name: str, where: str, raw: Any) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str | int | float) for x in raw):
        raise _bad(name, f"`{where}` must be a list of names")
    if len(raw) > MAX_NAMES:
        raise _bad(name, f"`{where}` lists more than {MAX_NAMES} names")
    return frozenset(str(x).strip().lower() for x in raw if str(x).strip())


def _bad(name: str, problem: str) -> NotesError:
    return NotesError(
        f"{name} {problem}", "fix the file (GitHub's release notes format), or set `release-config: none`"
    )
