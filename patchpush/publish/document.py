"""The notes file as state: pure functions that merge new notes into the old text.

Each section patch-push writes sits between two hidden markers; the opening one records the range it
describes, so the next run starts after `head` (DESIGN.md "State without a database").
"""

from __future__ import annotations

import re
from typing import Literal

from patchpush.publish import MarkerMoved

_BEGIN = re.compile(r"<!-- patch-push:begin base=(?P<base>[0-9a-f]*) head=(?P<head>[0-9a-f]{7,64}) -->")
_END = "<!-- patch-push:end -->"
_FIRST_H2 = re.compile(r"^## ", re.MULTILINE)
_LEADING_H1 = re.compile(r"\A(?:[ \t]*\n)*# [^\n]*\n(?:[ \t]*\n)*")


def wrap(markdown: str, *, base: str | None, head: str) -> str:
    """The section as written to the file, markers included."""
    return f"<!-- patch-push:begin base={base or ''} head={head} -->\n{markdown.rstrip()}\n{_END}\n"


def last_described(text: str | None) -> str | None:
    """The newest commit any earlier run described: the head of the topmost marker."""
    if not text:
        return None
    match = _BEGIN.search(text)
    return match.group("head") if match else None


def merge(
    old_text: str | None, section: str, *, mode: Literal["overwrite", "prepend"], start: str | None
) -> str:
    """The new file text, for notes collected after the marker `start`. Idempotent: when the file
    already describes this range's head (another run got there first), it stays as it is.

    Raises MarkerMoved when the file records any other range: the marker only moves forward, so
    these notes are collected again after the file's marker rather than merged on top of it.
    """
    marker = last_described(old_text)
    if old_text and marker == last_described(section):
        return old_text
    if marker != start:
        raise MarkerMoved(old_text)
    if mode == "overwrite":
        return section
    return prepend_notes(old_text, section)


def prepend_notes(old_text: str | None, section: str) -> str:
    """Put the new section on top of the changelog and keep every earlier byte as it was.

    On top means: above the newest earlier patch-push section, else above the first `## ` heading,
    else below a leading `# Title`, else at the very start.
    """
    if not old_text:
        return section
    if (match := _BEGIN.search(old_text)) or (match := _FIRST_H2.search(old_text)):
        at = match.start()
    elif match := _LEADING_H1.match(old_text):
        at = match.end()
    else:
        at = 0
    before, after = old_text[:at], old_text[at:]
    if before and not before.endswith("\n"):
        before += "\n"
    return before + section + ("\n" if after else "") + after


def replace_or_prepend(old_text: str, section: str) -> str:
    """For a release body: swap our earlier section in place, else put ours above the human text."""
    begin = _BEGIN.search(old_text)
    if begin:
        end = old_text.find(_END, begin.end())
        if end != -1:
            stop = end + len(_END)
            if old_text[stop : stop + 1] == "\n":
                stop += 1
            return old_text[: begin.start()] + section + old_text[stop:]
    return section + ("\n" + old_text if old_text.strip() else "")
