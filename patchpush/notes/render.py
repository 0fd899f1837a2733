"""Render `ReleaseNotes` to Markdown with one Jinja2 template; links come from refs, never from text.

Templates render in a bounded sandbox (`notes/sandbox.py`). Every value a template prints is made inert
(`notes/inert.py`) unless one of our filters built it, and the notes are clipped to `MAX_NOTES_BYTES`
with a line saying how many items were left out (#9).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Generator
from importlib import resources
from typing import Any, TextIO, cast

import jinja2
from jinja2.exceptions import SecurityError
from markupsafe import Markup

from patchpush.errors import NotesError
from patchpush.models import Change, ChangeSet, NoteItem, ReleaseNotes, Section
from patchpush.notes.inert import MAX_TEXT_CHARS, safe_text, strip_invisible
from patchpush.notes.sandbox import MAX_TEMPLATE_CHARS, RENDER_SECONDS, BoundedEnvironment, TemplateLimitError

__all__ = ["MAX_NOTES_BYTES", "MAX_TEXT_CHARS", "render", "render_text", "safe_text"]

# The rendered notes of one run, in UTF-8 bytes: well inside the Contents API's 1 MB and GitHub's 1 MiB
# job summary, and about 4,000 items of a changelog.
MAX_NOTES_BYTES = 500_000
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")


def render(
    notes: ReleaseNotes,
    changes: ChangeSet,
    out: TextIO,
    *,
    template: str | None = None,
    template_name: str = "the built-in template",
    seconds: float = RENDER_SECONDS,
) -> None:
    """Write the Markdown to `out`; `template` is a user template's source, None for the built-in one."""
    user = template is not None
    source = template if template is not None else _builtin_template()
    if len(source) > MAX_TEMPLATE_CHARS:
        raise NotesError(
            f"{template_name} has {len(source):,} characters, more than the {MAX_TEMPLATE_CHARS:,} allowed",
            "shorten the template",
        )
    env = _environment(changes)
    try:
        with env.limits(seconds):
            compiled = env.from_string(source)
            text = _clipped(compiled, notes, changes, template_name)
    except NotesError:
        raise
    except SecurityError as exc:
        raise NotesError(
            f"cannot render {template_name}: {_one_line(exc)}",
            "templates run in a sandbox: use the variables and filters the README lists",
        ) from exc
    except jinja2.TemplateError as exc:
        raise NotesError(
            f"cannot render {template_name}: {_one_line(exc)}", "fix the template's syntax or variable names"
        ) from exc
    except TemplateLimitError as exc:
        raise NotesError(f"cannot render {template_name}: {exc}", "simplify the template") from exc
    except MemoryError as exc:
        raise NotesError(
            f"cannot render {template_name}: it needs too much memory", "simplify the template"
        ) from exc
    except Exception as exc:
        # A user template is code we run: what it raises (1/0, a filter's TypeError, deep recursion) is
        # the template's error, not patch-push's. The built-in template's errors are our bugs.
        if not user:
            raise
        raise NotesError(
            f"cannot render {template_name}: {type(exc).__name__}: {_one_line(exc)}", "fix the template"
        ) from exc
    out.write(text)


def render_text(
    notes: ReleaseNotes,
    changes: ChangeSet,
    *,
    template: str | None = None,
    template_name: str = "the built-in template",
    seconds: float = RENDER_SECONDS,
) -> str:
    buffer = io.StringIO()
    render(notes, changes, buffer, template=template, template_name=template_name, seconds=seconds)
    return buffer.getvalue()


def _environment(changes: ChangeSet) -> BoundedEnvironment:
    env = BoundedEnvironment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        # Whatever a template prints is inert, unless one of the filters below built it.
        finalize=_inert,
    )
    env.filters["text"] = lambda value: Markup(safe_text(str(value)))
    env.filters["refs"] = lambda item: Markup(_refs(item, changes.web_url))
    by_sha = changes.by_sha()
    env.filters["authors"] = lambda item: Markup(_authors(item, by_sha))
    by_login, by_name = _first_changes(changes)
    env.filters["mention"] = lambda who: Markup(_mention(str(who), by_login))
    env.filters["first_contribution"] = lambda who: Markup(
        _first_contribution(str(who), by_login, by_name, changes.web_url)
    )
    return env


def _first_changes(changes: ChangeSet) -> tuple[dict[str, Change], dict[str, Change]]:
    """Each account's and each author name's oldest change of the range, in one pass. The template
    once searched the changes for every new contributor: 10 s on click's whole history (#11)."""
    by_login: dict[str, Change] = {}
    by_name: dict[str, Change] = {}
    for change in changes.changes:  # newest first: the last one seen is the oldest
        for login in {change.pr_author, change.author_login}:
            if login:
                by_login[login] = change
        if change.author_name:
            by_name[change.author_name] = change
    return by_login, by_name


def _mention(who: str, by_login: dict[str, Change]) -> str:
    """`@login` for a GitHub account of the range (new contributors, #11); anything else made inert."""
    if _LOGIN.match(who) and who in by_login:
        return f"@{who}"
    return safe_text(who)


def _first_contribution(
    who: str, by_login: dict[str, Change], by_name: dict[str, Change], web_url: str | None
) -> str:
    """' in #N' (or the commit) for a new contributor's first change of the range: their account's
    oldest change, else their git name's (a local clone knows names only)."""
    change = by_login.get(who) or by_name.get(who)
    if change is None:
        return ""
    if change.pr_number is not None:
        n = change.pr_number
        return f" in [#{n}]({web_url}/pull/{n})" if web_url else f" in #{n}"
    short = change.sha[:7]
    return f" in [`{short}`]({web_url}/commit/{change.sha})" if web_url else f" in `{short}`"


def _inert(value: Any) -> Any:
    return value if isinstance(value, Markup) else safe_text(str(value))


def _clipped(compiled: jinja2.Template, notes: ReleaseNotes, changes: ChangeSet, template_name: str) -> str:
    """The whole notes, or as many of their first items as fit in MAX_NOTES_BYTES, and a line saying
    how many were left out."""
    text, size = _render_at_most(compiled, notes, changes, limit=MAX_NOTES_BYTES, measure=_MEASURE_BYTES)
    if text is not None:
        return text
    total = sum(len(section.items) for section in notes.sections)
    # The size grows with the items kept: aim a little below the limit along the line through the last
    # two sizes seen (starting from no items, no bytes). A bisection took 9 s on 11,198 changes of
    # angular-cli; this renders three or four times.
    seen = [(0, 0), (total, size)]
    keep = int(total * MAX_NOTES_BYTES / size)
    for _ in range(_ATTEMPTS):
        limit = MAX_NOTES_BYTES - len(_left_out_line(total - keep))
        text, size = _render_at_most(
            compiled, _first_items(notes, keep), changes, limit=limit, measure=_MEASURE_BYTES
        )
        if text is not None:
            return text + _left_out_line(total - keep)
        if keep == 0:
            break
        seen = [seen[-1], (keep, size)]
        (k1, s1), (k2, s2) = sorted(seen)
        slope = (s2 - s1) / (k2 - k1) if k2 > k1 and s2 > s1 else size / keep
        keep = max(0, min(keep - 1, int(k1 + (limit * 0.99 - s1) / slope)))
    raise NotesError(
        f"{template_name} renders more than {MAX_NOTES_BYTES:,} bytes even without any items",
        "make the template print less",
    )


# How far the first rendering goes to learn how big the whole notes are; the attempts to fit after it.
_MEASURE_BYTES = 4 * MAX_NOTES_BYTES
_ATTEMPTS = 8


def _render_at_most(
    compiled: jinja2.Template, notes: ReleaseNotes, changes: ChangeSet, *, limit: int, measure: int = 0
) -> tuple[str | None, int]:
    """The rendered notes if they fit in `limit` bytes, else None and their size (or at least
    `measure`). Generation stops there, so a template printing 50 MB costs no more than 2 MB."""
    chunks: list[str] = []
    size = 0
    stop = max(limit, measure)
    # A generator (Jinja2 types it as an Iterator): closed as soon as the notes are too big.
    generator = cast("Generator[str, None, None]", compiled.generate(notes=notes, changes=changes))
    with contextlib.closing(generator) as stream:
        for chunk in stream:
            size += len(chunk.encode("utf-8"))
            if size > stop:
                return None, size
            chunks.append(chunk)
    text = strip_invisible(re.sub(r"\n{3,}", "\n\n", "".join(chunks)).rstrip("\n") + "\n")
    size = len(text.encode("utf-8"))
    return (text if size <= limit else None), size


def _first_items(notes: ReleaseNotes, keep: int) -> ReleaseNotes:
    sections: list[Section] = []
    for section in notes.sections:
        if keep <= 0:
            break
        sections.append(Section(title=section.title, items=section.items[:keep]))
        keep -= len(section.items)
    return ReleaseNotes(
        title=notes.title, summary=notes.summary, sections=tuple(sections), report=notes.report
    )


def _left_out_line(count: int) -> str:
    noun = "item was" if count == 1 else "items were"
    return f"\n*{count:,} more {noun} left out: the notes are limited to {MAX_NOTES_BYTES:,} bytes.*\n"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _builtin_template() -> str:
    return resources.files("patchpush").joinpath("templates/notes.md.j2").read_text(encoding="utf-8")


def _authors(item: NoteItem, by_sha: dict[str, Change]) -> str:
    """` by @login` from the GitHub accounts behind an item (the PR's author, else the commits');
    plain git names are not accounts, so a local run shows none."""
    logins: dict[str, None] = {}
    for sha in item.shas:
        change = by_sha.get(sha)
        if change is not None and (login := change.pr_author or change.author_login):
            logins[login] = None
    # A saved ChangeSet (--from-context) may hold anything: only a real login becomes a mention.
    shown = [f"@{login}" if _LOGIN.match(login) else safe_text(login) for login in logins]
    return " by " + ", ".join(shown) if shown else ""


def _refs(item: NoteItem, web_url: str | None) -> str:
    if item.prs:
        links = [f"[#{n}]({web_url}/pull/{n})" if web_url else f"#{n}" for n in item.prs]
    else:
        links = [f"[`{s[:7]}`]({web_url}/commit/{s})" if web_url else f"`{s[:7]}`" for s in item.shas]
    return f" ({', '.join(links)})" if links else ""
