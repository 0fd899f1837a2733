"""What the model says: its answer checked against our types and cleaned of anything it may not add.

The model's text never carries links, numbers, images or HTML of its own: the template renders links
from the refs, and `render.safe_text` neutralises @mentions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from patchpush.models import NoteItem, Section
from patchpush.notes.budget import IMAGE, LINK
from patchpush.notes.offline import BREAKING, OTHER, SECTION_ORDER

_SHA_OR_PR = re.compile(r"\s*\(?(?:#\d+|\b(?=[0-9a-f]*\d)[0-9a-f]{7,40}\b)\)?")  # "defaced" survives
# A model that cites line numbers in its text: "(3)", "[3, 4]".
_CHANGE_IDS = re.compile(r"\s*[(\[]\s*\d+(?:\s*,\s*\d+)*\s*[)\]]")
# Refs in parentheses, with the word that names them: "(fix #21973)", "(see #12, #13)".
_REFS_IN_PARENS = re.compile(
    r"\s*\((?:(?:fix(?:es|ed)?|close[sd]?|resolve[sd]?|see|refs?|part of)\s+)?"
    r"#\d+(?:\s*(?:,|and)\s*#\d+)*\s*\)",
    re.IGNORECASE,
)
_TAG = re.compile(r"</?[A-Za-z!][^<>]*>")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_TITLE_CHARS = re.compile(r"[^\w\s&,'/.+-]")
# What one piece of the model's text may take in the notes: a sentence, not a page.
MAX_ITEM_CHARS = 400
MAX_TITLE_CHARS = 100
MAX_SUMMARY_CHARS = 600
_ALIASES = {
    "breaking": BREAKING,
    "new features": "Features",
    "added": "Features",
    "bug fixes": "Fixes",
    "bugfixes": "Fixes",
    "fixed": "Fixes",
    "docs": "Documentation",
    "other": OTHER,
    "misc": OTHER,
    "miscellaneous": OTHER,
}

_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["text", "refs"],
    "properties": {"text": {"type": "string"}, "refs": {"type": "array", "items": {"type": "string"}}},
}
NOTES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "summary", "sections"],
    "properties": {
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "sections": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["title", "items"],
                "properties": {
                    "title": {"type": "string"},
                    "items": {"type": "array", "items": _ITEM_SCHEMA},
                },
            },
        },
    },
}
SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "summary"],
    "properties": {"title": {"type": "string"}, "summary": {"type": "string"}},
}


@dataclass(frozen=True)
class Answer:
    title: str
    summary: str
    sections: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = ()


def parse(text: str) -> Answer:
    """The answer as our types, or ValueError naming what is wrong (that triggers the one repair)."""
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError("the answer is not a JSON object")
    title, summary = raw.get("title", ""), raw.get("summary", "")
    if not isinstance(title, str) or not isinstance(summary, str):
        raise ValueError("title and summary must be strings")
    sections = []
    raw_sections = raw.get("sections", [])
    if not isinstance(raw_sections, list):
        raise ValueError("sections must be a list")
    for n, s in enumerate(raw_sections):
        if not isinstance(s, dict) or not isinstance(s.get("items", []), list):
            raise ValueError(f"sections[{n}] must be an object with a list of items")
        items = []
        for m, i in enumerate(s.get("items", [])):
            refs = i.get("refs", []) if isinstance(i, dict) else None
            # Line numbers as strings (the schema) or as numbers (models without strict schemas).
            if not isinstance(refs, list) or not all(isinstance(r, str | int) for r in refs):
                raise ValueError(f"sections[{n}].items[{m}] needs refs, a list of line numbers")
            text = i.get("text", "")
            if not isinstance(text, str):
                raise ValueError(f"sections[{n}].items[{m}].text must be a string")
            items.append((text, tuple(str(r) for r in refs)))
        section_title = s.get("title", "")
        if not isinstance(section_title, str):
            raise ValueError(f"sections[{n}].title must be a string")
        sections.append((section_title, tuple(items)))
    return Answer(
        title=clean(title, MAX_TITLE_CHARS),
        summary=finished(clean(summary, MAX_SUMMARY_CHARS)),
        sections=tuple(sections),
    )


# A sentence ends at ".", "!" or "?" before a space: "1.2" goes on.
_LAST_SENTENCE = re.compile(r"(?:^|(?<=[.!?])\s)(?:[^.!?]|[.!?](?!\s))*:\s*$")


def finished(summary: str) -> str:
    """The summary without a last sentence that announces what never came ("The most significant
    changes are:", as the 1.5B model ended angular-cli's): empty when that is all it says."""
    return _LAST_SENTENCE.sub("", summary).strip()


def clean(text: str, limit: int = MAX_ITEM_CHARS) -> str:
    """Model text never carries its own numbers, ids, links, images or HTML: the template renders
    links from refs. (@mentions are neutralised when rendering, by `render.safe_text`.) Past `limit`
    characters it is cut at a word and marked."""
    if len(text) > limit:
        text = text[: limit * 4]  # what the patterns below see; the cut comes after them
    text = IMAGE.sub("", text)
    text = LINK.sub(r"\1", text)
    text = _TAG.sub("", text)
    text = _URL.sub("", text)
    text = _CHANGE_IDS.sub("", text)
    text = _REFS_IN_PARENS.sub("", text)
    text = _SHA_OR_PR.sub("", text)
    text = " ".join(text.split()).strip(" ,;")
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;") + "…"
    return text


MAX_SECTION_WORDS = 4


def section_title(title: str) -> str:
    """The section the model named, as the template may print it: words and plain punctuation only.
    A title of more words than a heading has is a commit subject the model copied (the 0.5B model
    headed git-cliff's revert "revertremote use reqwestResponseerror_for_status revert erro")."""
    title = " ".join(_TITLE_CHARS.sub("", _TAG.sub("", title)).split())[:60] or OTHER
    known = {s.lower(): s for s in SECTION_ORDER} | _ALIASES
    if title.lower() not in known and (len(title.split()) > MAX_SECTION_WORDS or "_" in title):
        return OTHER
    return known.get(title.lower(), title)


def ordered(sections: dict[str, list[NoteItem]]) -> tuple[Section, ...]:
    rank = {title: n for n, title in enumerate(SECTION_ORDER)}
    # Known sections in our reading order, the model's own sections before "Other changes".
    ordered = sorted(sections.items(), key=lambda kv: rank.get(kv[0], rank[OTHER] - 0.5))
    return tuple(Section(title, tuple(items)) for title, items in ordered if items)
