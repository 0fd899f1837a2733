"""Text from commits, pull requests or a model, made inert for GitHub-flavoured Markdown.

For any input, the rendered text pings nobody, holds no raw HTML and no image, and shows no invisible
characters; code spans stay code spans, with `<` printed as written (see #9 and #11). The text is scanned
once the way CommonMark reads inline code, so that the backticks we add to fence an @mention can never pair
with a stray backtick of the text (an odd number of backticks defeated a plain regex, see #9).
"""

from __future__ import annotations

import html
import re
import string

# A changelog line; longer item texts (a 1 MB commit subject, a runaway model answer) are clipped (#9).
MAX_TEXT_CHARS = 1000

_PUNCTUATION = frozenset(string.punctuation)
# As GitHub reads them: a user or org/team after a character that is not a letter or digit. `_` counts as
# a boundary too: `_@x_` is emphasis, whose text GitHub scans on its own.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9_.-]+)?")
_ALNUM = frozenset(string.ascii_letters + string.digits)
_ENTITY = re.compile(r"&(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{1,31});")
_NEEDS_WORK = re.compile(r"[<@!&`\\\t\n\r\f\v]|  |^ | $")
# Bidi controls, zero-width and other invisible format characters, C0/C1 controls (bar tab and newline,
# which are folded), and the Unicode tag block (ASCII smuggling) except in a flag's tag sequence.
_INVISIBLE = re.compile(
    "(\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f)"
    "|[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)
# Zero-width (non-)joiners are part of Persian, Indic and emoji spellings: kept between two such letters.
_JOINER = re.compile("[\u200c\u200d]")


def strip_invisible(text: str) -> str:
    """Remove characters a reader cannot see but that change what the text says or where it points."""
    if text.isascii() and text.isprintable():
        return text
    text = _INVISIBLE.sub(lambda m: m.group(1) or "", text)
    return _JOINER.sub(_joiner, text)


def _joiner(match: re.Match[str]) -> str:
    text, at = match.string, match.start()
    before = text[at - 1] if at else " "
    after = text[at + 1] if at + 1 < len(text) else " "
    return match.group() if not before.isascii() and not after.isascii() and not after.isspace() else ""


def safe_text(text: str, *, limit: int = MAX_TEXT_CHARS) -> str:
    """One line of inert Markdown: no pings, no raw HTML, no images, no invisible characters."""
    text = strip_invisible(text)
    if not _NEEDS_WORK.search(text) and len(text) <= limit:
        return text  # the common case: nothing to fold, clip or neutralise
    return _inert(_clip(" ".join(text.split()), limit))


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", limit // 2, limit)
    return text[: cut if cut > 0 else limit].rstrip() + " …"


def _inert(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in _PUNCTUATION:
            if text[i + 1] == "@" and _mention_at(text, i + 1, out):
                i = _fence_mention(text, i + 1, out)
                continue
            # An escaped character prints as itself; `\\` and `\`` stay escapes. An autolink before it
            # would take the backslash and leave a `<` bare: `&lt;` holds anywhere.
            out.append("&lt;" if text[i + 1] == "<" else text[i : i + 2])
            i += 2
        elif char == "`":
            run = _run_length(text, i)
            close = _closing_run(text, i + run, run)
            if close is None:
                out.append("\\`" * run)  # a stray backtick: literal, so it pairs with nothing we add
                i += run
            else:
                _append_code(out, text[i : close + run])
                i = close + run
        elif char == "<":
            out.append("&lt;")
            i += 1
        elif char == "&" and (entity := _ENTITY.match(text, i)):
            # `&#64;` prints as `@` after GitHub has looked for mentions: print such entities as written.
            out.append("&amp;" + entity.group()[1:] if _unsafe_entity(entity.group()) else entity.group())
            i = entity.end()
        elif char == "!" and text.startswith("[", i + 1):
            # `![alt](src)` becomes a link to the image: no image is shown. `!![` must not become `![`.
            if out and out[-1] == "!":
                out[-1] = "\\!"
            i += 1
        elif char == "@" and _mention_at(text, i, out):
            i = _fence_mention(text, i, out)
        elif char == "\\":
            out.append("\\\\")  # a lone backslash must not escape a backtick we add after it
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _run_length(text: str, start: int) -> int:
    end = start
    while end < len(text) and text[end] == "`":
        end += 1
    return end - start


def _closing_run(text: str, start: int, length: int) -> int | None:
    """Where the next backtick run of exactly `length` starts: CommonMark's closer of a code span."""
    at = text.find("`", start)
    while at != -1:
        run = _run_length(text, at)
        if run == length:
            return at
        at = text.find("`", at + run)
    return None


def _autolink_reaches(out: list[str]) -> bool:
    """Whether the word before this point could be a GFM autolink (`www.`, `scheme:`), which would run
    on into a code span's opening backtick: the span's `<` would be outside code, and its closing
    backtick would pair with the next one."""
    word: list[str] = []
    for piece in reversed(out):
        if piece.isspace():
            break
        word.append(piece)
    tail = "".join(reversed(word)).lower()
    return "www." in tail or ":" in tail


def _append_code(out: list[str], code: str) -> None:
    # Two code spans side by side would read as one longer backtick run; an autolink ends at a space.
    if out and ((out[-1].endswith("`") and not out[-1].endswith("\\`")) or _autolink_reaches(out)):
        out.append(" ")
    out.append(code)


def _mention_at(text: str, at: int, out: list[str]) -> bool:
    """An `@` that GitHub would turn into a ping: after a non-alphanumeric (or nothing) and before a name."""
    if at + 1 >= len(text) or text[at + 1] not in _ALNUM:
        return False
    before = out[-1][-1] if out and out[-1] else ""
    return before not in _ALNUM


def _fence_mention(text: str, at: int, out: list[str]) -> int:
    match = _NAME.match(text, at + 1)
    assert match is not None  # _mention_at saw an alphanumeric after the @
    _append_code(out, f"`@{match.group()}`")
    return match.end()


def _unsafe_entity(entity: str) -> bool:
    decoded = html.unescape(entity)
    return "@" in decoded or strip_invisible(decoded) != decoded
