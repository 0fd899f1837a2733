"""The LLM writer: notes through the OpenAI SDK, grounded in the ChangeSet, within a token budget.

Every item the model writes must cite change ids from the range; invented ids are removed and counted,
and changes the model left out are added back by the offline writer. When the model cannot be used
(timeouts, rate limits, bad output), the offline writer writes the notes and the reason is reported.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from patchpush.errors import NotesError
from patchpush.models import Change, ChangeSet, NoteItem, ReleaseNotes, Section, WriterReport
from patchpush.notes import budget
from patchpush.notes.offline import OTHER, SECTION_ORDER, item_for, write_offline

GITHUB_MODELS_URL = "https://models.github.ai/inference"
BODY_TOKENS = 40  # per change: PR bodies and long messages are clipped before any change is dropped
OUTPUT_RESERVE = 0.1  # share of the budget kept free of input, as slack for counting differences
# "#123" and commit-like hex words (with at least one digit, so "defaced" survives).
_SHA_OR_PR = re.compile(r"\s*\(?(?:#\d+|\b(?=[0-9a-f]*\d)[0-9a-f]{7,40}\b)\)?")
_NOTES_SCHEMA: dict[str, Any] = {
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
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["text", "refs"],
                            "properties": {
                                "text": {"type": "string"},
                                "refs": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        },
    },
}
_SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "summary"],
    "properties": {"title": {"type": "string"}, "summary": {"type": "string"}},
}


@dataclass(frozen=True)
class LlmConfig:
    provider: str  # openai, azure, github-models
    model: str
    api_key: str
    base_url: str = ""
    azure_api_version: str = "2024-10-21"
    max_input_tokens: int = 100_000
    timeout: float = 60.0
    max_retries: int = 3
    language: str = "English"
    instructions: str = ""


class _Unusable(Exception):
    """The model cannot give usable notes this run; the reason goes to `fallback-reason`."""


class LlmWriter:
    """`NotesWriter` that asks the model, checks its answer, and never does worse than offline."""

    def __init__(self, *, config: LlmConfig) -> None:
        self._config = config
        self._prompts = tomllib.loads(
            resources.files("patchpush").joinpath("prompts/notes.toml").read_text(encoding="utf-8")
        )
        self._usage = [0, 0, 0]  # tokens in, tokens out, calls

    def write(self, changes: ChangeSet) -> ReleaseNotes:
        self._usage = [0, 0, 0]
        try:
            notes = self._write(changes)
        except _Unusable as exc:
            return write_offline(changes, report=self._report(fallback_reason=str(exc)))
        return notes

    # -- the map-reduce over chunks -------------------------------------------------------------

    def _write(self, changes: ChangeSet) -> ReleaseNotes:
        ids = {f"c{n + 1}": change for n, change in enumerate(changes.changes)}
        lines = [_line(key, change) for key, change in ids.items()]
        limit = int(self._config.max_input_tokens * (1 - OUTPUT_RESERVE))
        for _ in range(3):
            try:
                sections, title, summary, invented, dropped = self._map(changes, lines, limit)
                break
            except _ContextTooLong:
                limit //= 2  # the server counts differently from us: re-chunk smaller and try again
        else:
            raise _Unusable("the model kept rejecting the request as too long")
        covered = {ref for s in sections for i in s.items for ref in i.shas}
        missing = [c for c in changes.changes if c.sha not in covered]
        if missing:
            extra = tuple(item_for([c]) for c in missing)
            others = next((s for s in sections if s.title == OTHER), None)
            sections = [s for s in sections if s is not others]
            sections.append(Section(OTHER, (*(others.items if others else ()), *extra)))
        report = self._report(invented_refs=invented, dropped_items=dropped, added_for_coverage=len(missing))
        return ReleaseNotes(title=title, summary=summary, sections=_ordered(sections), report=report)

    def _map(
        self, changes: ChangeSet, lines: list[str], limit: int
    ) -> tuple[list[Section], str, str, int, int]:
        system = self._prompts["system"].format(
            language=self._config.language, instructions=self._instructions()
        )
        frame = self._prompts["user"].format(repository=changes.repository, changes="")
        overhead = budget.count_messages([{"content": system}, {"content": frame}])
        room = limit - overhead
        if room <= 0:
            raise _Unusable(f"max-input-tokens {self._config.max_input_tokens} leaves no room for changes")
        chunks: list[list[str]] = [[]]
        used = 0
        for line in lines:
            cost = budget.count(line) + 1
            if cost > room:
                line = budget.clip(line, room - 1)
                cost = room
            if used + cost > room and chunks[-1]:
                chunks.append([])
                used = 0
            chunks[-1].append(line)
            used += cost
        valid = {line.split(" ", 1)[0] for line in lines}
        by_id = {f"c{n + 1}": c for n, c in enumerate(changes.changes)}
        sections: dict[str, list[NoteItem]] = {}
        titles: list[tuple[str, str]] = []
        invented = dropped = 0
        for chunk in chunks:
            user = self._prompts["user"].format(repository=changes.repository, changes="\n".join(chunk))
            answer = self._ask(
                [{"role": "system", "content": system}, {"role": "user", "content": user}],
                _NOTES_SCHEMA,
                "release_notes",
            )
            for raw_section in answer.get("sections", []):
                for raw_item in raw_section.get("items", []):
                    refs = [str(r) for r in raw_item.get("refs", [])]
                    good = [r for r in refs if r in valid]
                    invented += len(refs) - len(good)
                    text = _clean(str(raw_item.get("text", "")))
                    if not good or not text:
                        dropped += 1
                        continue
                    cited = [by_id[r] for r in dict.fromkeys(good)]
                    prs = tuple(dict.fromkeys(c.pr_number for c in cited if c.pr_number is not None))
                    item = NoteItem(text=text, shas=tuple(c.sha for c in cited), prs=prs)
                    sections.setdefault(_section_title(str(raw_section.get("title", ""))), []).append(item)
            titles.append((_clean(str(answer.get("title", ""))), _clean(str(answer.get("summary", "")))))
        merged = [Section(t, tuple(items)) for t, items in sections.items()]
        title, summary = titles[0] if len(titles) == 1 else self._summarise(merged, limit)
        offline = write_offline(changes)
        return merged, title or offline.title, summary or offline.summary, invented, dropped

    def _summarise(self, sections: list[Section], limit: int) -> tuple[str, str]:
        """The reduce step: one title and summary for notes written in several chunks."""
        system = self._prompts["summary_system"].format(language=self._config.language)
        outline = "\n".join(f"{s.title}: " + "; ".join(i.text for i in s.items) for s in sections)
        outline = budget.clip(outline, limit - budget.count(system) - 100)
        user = self._prompts["summary_user"].format(notes=outline)
        answer = self._ask(
            [{"role": "system", "content": system}, {"role": "user", "content": user}],
            _SUMMARY_SCHEMA,
            "notes_summary",
        )
        return _clean(str(answer.get("title", ""))), _clean(str(answer.get("summary", "")))

    # -- one request ------------------------------------------------------------------------------

    def _ask(self, messages: list[dict[str, str]], schema: dict[str, Any], name: str) -> dict[str, Any]:
        import openai  # lazily: importing it costs ~0.4 s, and the offline path never needs it

        text = self._complete(messages, schema, name)
        try:
            return _parse_json(text)
        except ValueError:
            # One repair attempt: show the model its answer and ask again.
            repaired = self._complete(
                [
                    *messages,
                    {"role": "assistant", "content": text},
                    {"role": "user", "content": self._prompts["repair"]},
                ],
                schema,
                name,
            )
            try:
                return _parse_json(repaired)
            except ValueError as exc:
                raise _Unusable(f"the model's answer was not valid JSON twice ({exc})") from None
        except openai.OpenAIError as exc:  # pragma: no cover - _complete translates these
            raise _Unusable(str(exc)) from exc

    def _complete(self, messages: list[dict[str, str]], schema: dict[str, Any], name: str) -> str:
        import openai

        tokens = budget.count_messages(messages)
        if tokens > self._config.max_input_tokens:
            raise _ContextTooLong
        client = self._client()
        response_format: Any = {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": True},
        }
        try:
            response = client.chat.completions.create(
                model=self._config.model,
                messages=messages,
                response_format=response_format,
                temperature=0.2,
            )
        except openai.BadRequestError as exc:
            if "context_length" in str(exc) or getattr(exc, "code", None) == "context_length_exceeded":
                raise _ContextTooLong from exc
            raise _Unusable(f"the model rejected the request: {_short(exc)}") from exc
        except openai.APITimeoutError as exc:
            raise _Unusable(f"the model did not answer within {self._config.timeout:g} s") from exc
        except openai.RateLimitError as exc:
            raise _Unusable(
                f"rate limited by the model provider after {self._config.max_retries} retries"
            ) from exc
        except openai.AuthenticationError as exc:
            raise _Unusable("the model provider rejected the API key (401)") from exc
        except openai.APIStatusError as exc:
            raise _Unusable(f"the model provider answered {exc.status_code} after retries") from exc
        except openai.APIConnectionError as exc:
            raise _Unusable(f"cannot reach the model provider: {_short(exc)}") from exc
        self._usage[2] += 1
        if response.usage:
            self._usage[0] += response.usage.prompt_tokens
            self._usage[1] += response.usage.completion_tokens
        choice = response.choices[0]
        if choice.finish_reason == "length":
            raise _Unusable("the model's answer was cut off at its output limit")
        return choice.message.content or ""

    def _client(self) -> Any:
        import openai

        c = self._config
        common: dict[str, Any] = {"timeout": c.timeout, "max_retries": c.max_retries}
        if c.provider == "azure":
            if not c.base_url:
                raise NotesError(
                    "provider 'azure' needs `base-url`: your resource's endpoint",
                    "set base-url: https://<resource>.openai.azure.com",
                )
            return openai.AzureOpenAI(
                azure_endpoint=c.base_url, api_key=c.api_key, api_version=c.azure_api_version, **common
            )
        base_url = c.base_url or (GITHUB_MODELS_URL if c.provider == "github-models" else None)
        # Local servers (Ollama, vLLM) need no key, but the SDK insists on one.
        return openai.OpenAI(api_key=c.api_key or "unused", base_url=base_url, **common)

    def _instructions(self) -> str:
        extra = self._config.instructions.strip()
        return f"\n- The maintainers add: {extra}" if extra else ""

    def _report(self, **fields: Any) -> WriterReport:
        writer: Literal["llm", "offline"] = "offline" if "fallback_reason" in fields else "llm"
        return WriterReport(
            writer=writer, tokens_in=self._usage[0], tokens_out=self._usage[1], calls=self._usage[2], **fields
        )


class _ContextTooLong(Exception):
    pass


def _line(key: str, change: Change) -> str:
    """One change as the model sees it: id, kind, subject, and clipped details. Compact on purpose."""
    kind = change.type or "other"
    if change.scope:
        kind += f"({change.scope})"
    if change.breaking:
        kind += "!"
    parts = [key, kind, change.description or change.subject]
    if change.pr_title and change.pr_title != change.description:
        parts.append(change.pr_title)
    details = budget.clean_body(change.pr_body or change.body or "")
    if details:
        parts.append(budget.clip(details, BODY_TOKENS))
    return " | ".join(" ".join(p.split()) for p in parts)


def _parse_json(text: str) -> dict[str, Any]:
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    value = json.loads(text)
    if not isinstance(value, dict) or not isinstance(value.get("sections", []), list):
        raise ValueError("not a notes object")
    return value


def _clean(text: str) -> str:
    """Model text never carries its own numbers or links: the template renders those from refs."""
    return " ".join(_SHA_OR_PR.sub("", text).split())


def _section_title(title: str) -> str:
    title = " ".join(title.split()) or OTHER
    known = {s.lower(): s for s in SECTION_ORDER}
    return known.get(title.lower(), title)


def _ordered(sections: list[Section]) -> tuple[Section, ...]:
    rank = {title: n for n, title in enumerate(SECTION_ORDER)}
    # Known sections in our reading order, the model's own sections before "Other changes".
    return tuple(sorted(sections, key=lambda s: rank.get(s.title, rank[OTHER] - 0.5)))


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:200]
