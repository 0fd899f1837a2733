"""Render `ReleaseNotes` to Markdown with one Jinja2 template; links come from refs, never from text."""

from __future__ import annotations

import io
import re
from importlib import resources
from typing import TextIO

import jinja2

from patchpush.errors import NotesError
from patchpush.models import Change, ChangeSet, NoteItem, ReleaseNotes

_MENTION = re.compile(r"(?<![\w`])@([A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9_.-]+)?)")
_IMAGE = re.compile(r"!\[")
_HTML = re.compile(r"<")  # only "<" opens a tag; "->" stays readable in the file
_NEEDS_WORK = re.compile(r"[<@!\t\n\r\f\v]|  |^ | $")


def safe_text(text: str) -> str:
    """Text from commits or a model, made inert: no pings, no raw HTML, no images, one line."""
    if not _NEEDS_WORK.search(text):
        return text  # the common case: nothing to fold or neutralise
    text = " ".join(text.split())
    text = _HTML.sub("&lt;", text)
    text = _IMAGE.sub("[", text)
    return _MENTION.sub(r"`@\1`", text)


def render(
    notes: ReleaseNotes,
    changes: ChangeSet,
    out: TextIO,
    *,
    template: str | None = None,
    template_name: str = "the built-in template",
) -> None:
    """Write the Markdown to `out`; `template` is a user template's source, None for the built-in one."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    env.filters["text"] = safe_text
    env.filters["refs"] = lambda item: _refs(item, changes.web_url)
    by_sha = changes.by_sha()
    env.filters["authors"] = lambda item: _authors(item, by_sha)
    source = template if template is not None else _builtin_template()
    try:
        compiled = env.from_string(source)
        text = compiled.render(notes=notes, changes=changes)
    except jinja2.TemplateError as exc:
        raise NotesError(
            f"cannot render {template_name}: {exc}", "fix the template's syntax or variable names"
        ) from exc
    out.write(re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n")


def render_text(
    notes: ReleaseNotes,
    changes: ChangeSet,
    *,
    template: str | None = None,
    template_name: str = "the built-in template",
) -> str:
    buffer = io.StringIO()
    render(notes, changes, buffer, template=template, template_name=template_name)
    return buffer.getvalue()


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
    return " by " + ", ".join(f"@{login}" for login in logins) if logins else ""


def _refs(item: NoteItem, web_url: str | None) -> str:
    if item.prs:
        links = [f"[#{n}]({web_url}/pull/{n})" if web_url else f"#{n}" for n in item.prs]
    else:
        links = [f"[`{s[:7]}`]({web_url}/commit/{s})" if web_url else f"`{s[:7]}`" for s in item.shas]
    return f" ({', '.join(links)})" if links else ""
