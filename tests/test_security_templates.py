"""Templates a repository supplies: sandboxed, bounded, inert, and still usable (issue #9).

The action-level cases (a template that tries to run code, read the environment, include a file or
divide by zero) are in tests/hostile_cases.py; these check the limits that take too long to hit through
the action, and that a user template keeps working.
"""

from __future__ import annotations

import time
from importlib import resources

import pytest

from patchpush.errors import NotesError
from patchpush.models import Change, ChangeSet, NoteItem, ReleaseNotes, Section
from patchpush.notes.render import MAX_NOTES_BYTES, render_text
from tests.hostile_checks import markdown_problems

SHA = "a" * 40


def notes_of(*items: str, title: str = "Widgets 2.0") -> tuple[ReleaseNotes, ChangeSet]:
    changes = ChangeSet(
        repository="octo-org/widgets",
        head=SHA,
        changes=(Change(sha=SHA, subject="feat: x", pr_author="alice"),),
        web_url="https://github.com/octo-org/widgets",
        head_tag="v2.0.0",
    )
    section = Section("Features", tuple(NoteItem(text, shas=(SHA,)) for text in items))
    return ReleaseNotes(title=title, summary="Better widgets.", sections=(section,)), changes


def test_the_builtin_template_renders_the_same_when_passed_as_a_user_template() -> None:
    notes, changes = notes_of("add users endpoint", "fix `Vec<T>` parsing, thanks @bob")
    builtin = resources.files("patchpush").joinpath("templates/notes.md.j2").read_text(encoding="utf-8")
    assert render_text(notes, changes, template=builtin, template_name="t.j2") == render_text(notes, changes)


def test_a_typical_user_template_keeps_working() -> None:
    template = (
        "# {{ changes.head_tag }}: {{ notes.title }}\n"
        "{% for s in notes.sections %}{{ s.title | upper }} ({{ s.items | length }})\n"
        "{% for i in s.items %}* {{ i.text | text }}{{ i | refs }}{{ i | authors }}\n{% endfor %}{% endfor %}"
        "{{ notes.sections | map(attribute='title') | join(', ') }}\n"
    )
    notes, changes = notes_of("add users endpoint")
    assert render_text(notes, changes, template=template, template_name="t.j2") == (
        "# v2.0.0: Widgets 2.0\nFEATURES (1)\n"
        f"* add users endpoint ([`aaaaaaa`](https://github.com/octo-org/widgets/commit/{SHA})) by @alice\n"
        "Features\n"
    )


def test_what_a_template_prints_without_the_text_filter_is_inert_too() -> None:
    template = "{% for i in notes.sections[0].items %}- {{ i.text }}\n{% endfor %}{{ notes.title }}\n"
    notes, changes = notes_of("ping @alice <img src=x> ` @bob", "\u202eevil", title="::error::x @carol")
    text = render_text(notes, changes, template=template, template_name="t.j2")
    assert markdown_problems(text) == []
    assert "`@alice`" in text and "evil" in text


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "{% set r = range(100000)|list %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}",
            "longer",
        ),
        ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "longer"),
        ("{{ 'x' * 10**10 }}", "builds a value of 10,000,000,000 items"),
        ("{{ (10 ** 100) ** 1000 }}", "is too large"),
        ("{{ 'x' | center(10**10) }}", "needs too much memory"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "RecursionError"),
        ("{{ notes.sections.append(1) }}", "has no attribute 'append'"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
        ("{% extends 'base.html' %}", "cannot include, import or extend"),
        ("{{ notes.nothing }}", "has no attribute 'nothing'"),
    ],
)
def test_a_template_that_goes_too_far_is_one_clear_error(template: str, message: str) -> None:
    notes, changes = notes_of("add users endpoint")
    started = time.monotonic()
    with pytest.raises(NotesError, match=r"cannot render t\.j2") as caught:
        render_text(notes, changes, template=template, template_name="t.j2", seconds=1.0)
    assert message in str(caught.value)
    assert time.monotonic() - started < 10


def test_too_many_items_are_clipped_with_a_line_saying_how_many() -> None:
    items = [f"change number {n} " + "to the widget pipeline " * 4 for n in range(8000)]
    notes, changes = notes_of(*items)
    text = render_text(notes, changes)
    assert len(text.encode("utf-8")) <= MAX_NOTES_BYTES
    shown = [n for n in range(8000) if f"change number {n} " in text]
    assert shown == list(range(len(shown))) and len(shown) > 2200  # the first items, as many as fit
    left_out = 8000 - len(shown)
    assert text.rstrip().endswith(
        f"*{left_out:,} more items were left out: the notes are limited to {MAX_NOTES_BYTES:,} bytes.*"
    )


def test_a_template_printing_50_mb_is_stopped_early() -> None:
    notes, changes = notes_of("add users endpoint")
    started = time.monotonic()
    with pytest.raises(NotesError, match="renders more than 500,000 bytes even without any items"):
        render_text(notes, changes, template="{% for i in range(100000) %}{{ 'x' * 500 }}{% endfor %}")
    assert time.monotonic() - started < 10
