"""The LLM writer: notes through the OpenAI SDK, grounded in the ChangeSet, within a token budget.

Every item the model writes must cite the numbers of the lines it was shown; invented ones are removed
and counted, and changes the model left out are added back by the offline writer. A range too large
for one request is sent in chunks (map), then one more call titles the whole (reduce). When the model
cannot be used (timeouts, rate limits, bad output), the offline writer writes the notes and the reason
is reported.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

from patchpush.models import ChangeSet, NoteItem, ReleaseNotes, WriterReport
from patchpush.notes import answer, budget
from patchpush.notes.offline import OTHER, write_offline

GITHUB_MODELS_URL = "https://models.github.ai/inference"
OUTPUT_RESERVE = 0.1  # share of the budget kept free of input, as slack for counting differences
MAX_SHRINKS = 4  # "too long" answers: halve the chunk size at most this often (1/16), then give up
_MIN_ROOM = 32  # fewer tokens than this for change lines is no useful request
_TOO_LONG = re.compile(r"context.length|maximum context|too large|tokens_limit", re.IGNORECASE)


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


class LlmWriter:
    """`NotesWriter` that asks the model, checks its answer, and never does worse than offline."""

    def __init__(self, *, config: LlmConfig) -> None:
        self._config = config

    def write(self, changes: ChangeSet) -> ReleaseNotes:
        run = _Run(self._config)
        if not changes.changes:
            return write_offline(changes, report=run.report())
        try:
            return run.notes(changes)
        except _Unusable as exc:
            return write_offline(changes, report=run.report(fallback_reason=str(exc)))


@functools.cache
def _load_prompts() -> dict[str, str]:
    text = resources.files("patchpush").joinpath("prompts/notes.toml").read_text(encoding="utf-8")
    return {k: str(v) for k, v in tomllib.loads(text).items()}


class _Unusable(Exception):
    """The model cannot give usable notes this run; the message goes to `fallback-reason`."""


class _TooLong(Exception):
    """The request, or the answer it asks for, does not fit the model: send less at a time."""

    def __init__(self, reason: str, *, output: bool = False) -> None:
        super().__init__(reason)
        self.output = output  # the answer hit the output limit: fewer changes, not fewer tokens


@dataclass
class _Run:
    """One `write()`: the client, the prompts and what the run cost and fixed."""

    config: LlmConfig
    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 0
    invented: int = 0
    dropped: int = 0
    prompts: dict[str, str] = field(default_factory=lambda: _load_prompts())
    _client: Any = None

    def report(self, **fields: Any) -> WriterReport:
        return WriterReport(
            writer="offline" if "fallback_reason" in fields else "llm",
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            calls=self.calls,
            invented_refs=self.invented,
            dropped_items=self.dropped,
            **fields,
        )

    # -- map, reduce, cover ---------------------------------------------------------------------

    def notes(self, changes: ChangeSet) -> ReleaseNotes:
        entries = budget.entries(changes.changes)
        system = self._system("system", repository=changes.repository)
        sections, answers = self._map(entries, system)
        if len(answers) == 1:
            title, summary = answers[0].title, answers[0].summary
        else:
            title, summary = self._reduce(answers, sections)
        cited = {sha for items in sections.values() for item in items for sha in item.shas}
        missing = tuple(c for c in changes.changes if c.sha not in cited)
        if missing:  # coverage: the offline writer describes what the model left out
            extra = write_offline(replace(changes, changes=missing))
            sections.setdefault(OTHER, []).extend(i for s in extra.sections for i in s.items)
        if not title or not summary:
            offline = write_offline(changes)
            title, summary = title or offline.title, summary or offline.summary
        return ReleaseNotes(
            title=title,
            summary=summary,
            sections=answer.ordered(sections),
            report=self.report(added_for_coverage=len(missing)),
        )

    def _map(
        self, entries: list[budget.Entry], system: str
    ) -> tuple[dict[str, list[NoteItem]], list[answer.Answer]]:
        limit = int(self.config.max_input_tokens * (1 - OUTPUT_RESERVE))
        room = limit - self._fixed_cost(system, "user", changes="")
        if room < _MIN_ROOM:
            raise _Unusable(f"max-input-tokens {self.config.max_input_tokens} leaves no room for the changes")
        most = budget.MAX_CHUNK_CHANGES
        sections: dict[str, list[NoteItem]] = {}
        answers: list[answer.Answer] = []
        shrinks = 0
        pending = entries
        while pending:
            chunk, lines, used = budget.take(pending, room, most)
            by_key = {str(n): entry for n, entry in enumerate(chunk, 1)}
            user = self.prompts["user"].format(changes="\n".join(lines))
            try:
                reply = self._ask(system, user, answer.NOTES_SCHEMA, "release_notes")
            except _TooLong as exc:
                # The model's window or output limit is smaller than we were told: re-chunk what is
                # left at half the size of the chunk it refused.
                shrinks += 1
                if exc.output:
                    most = len(chunk) // 2
                else:
                    room = used // 2
                if shrinks > MAX_SHRINKS or room < _MIN_ROOM or most < 1:
                    raise _Unusable(
                        f"requests stayed too long for the model down to {len(chunk)} changes "
                        f"in {used} tokens ({exc})"
                    ) from exc
                continue
            pending = pending[len(chunk) :]
            answers.append(reply)
            for title, items in reply.sections:
                for text, refs in items:
                    item = self._ground(text, refs, by_key)
                    if item is not None:
                        sections.setdefault(answer.section_title(title), []).append(item)
        return sections, answers

    def _ground(self, text: str, refs: tuple[str, ...], by_key: dict[str, budget.Entry]) -> NoteItem | None:
        """Keep an item only for what it cites from its own chunk; count what it invented."""
        keys = [r.strip().lower() for r in refs]
        good = list(dict.fromkeys(k for k in keys if k in by_key))
        self.invented += sum(1 for k in keys if k not in by_key)
        text = answer.clean(text)
        if not good or not text:
            self.dropped += 1
            return None
        cited = [c for k in good for c in by_key[k].changes]
        prs = tuple(dict.fromkeys(c.pr_number for c in cited if c.pr_number is not None))
        return NoteItem(text=text, shas=tuple(c.sha for c in cited), prs=prs)

    def _reduce(self, answers: list[answer.Answer], sections: dict[str, list[NoteItem]]) -> tuple[str, str]:
        """One title and summary for notes written in several chunks, from each chunk's own title and
        summary: a few tokens per chunk, where the items themselves would fill another whole request."""
        system = self._system("summary_system")
        parts = [f"- {a.title}: {a.summary}" for a in answers if a.title or a.summary]
        sizes = ", ".join(f"{title} ({len(items)})" for title, items in sections.items())
        outline = budget.inert("\n".join([*parts, f"Sections: {sizes}"]))
        room = int(self.config.max_input_tokens * (1 - OUTPUT_RESERVE))
        room -= self._fixed_cost(system, "summary_user", notes="")
        for _ in range(MAX_SHRINKS):
            if room < _MIN_ROOM:
                break
            user = self.prompts["summary_user"].format(notes=budget.clip(outline, room))
            try:
                reply = self._ask(system, user, answer.SUMMARY_SCHEMA, "notes_summary")
            except _TooLong:
                room //= 2
                continue
            return reply.title, reply.summary
        raise _Unusable("the model rejected the summary request as too long")

    # -- one request ----------------------------------------------------------------------------

    def _ask(self, system: str, user: str, schema: dict[str, Any], name: str) -> answer.Answer:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        text = self._complete(messages, schema, name)
        try:
            return answer.parse(text)
        except ValueError as first:
            # One repair: say what was wrong and ask again (the bad answer is not echoed: it may be long).
            repair = self.prompts["repair"].format(error=_short(str(first), 60))
            text = self._complete([*messages, {"role": "user", "content": repair}], schema, name)
            try:
                return answer.parse(text)
            except ValueError as second:
                raise _Unusable(
                    "the model's answer was not valid notes JSON, even after one repair "
                    f"({_short(str(second))})"
                ) from None

    def _complete(self, messages: list[dict[str, str]], schema: dict[str, Any], name: str) -> str:
        import openai  # lazily: importing it costs ~0.4 s, and the offline path never needs it

        tokens = budget.count_messages(messages)
        if tokens > self.config.max_input_tokens:
            raise _TooLong(f"{tokens} tokens counted before sending")
        c = self.config
        response_format: Any = {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": True},
        }
        retried = f"{c.max_retries} retr{'y' if c.max_retries == 1 else 'ies'}"
        try:
            response = self.client().chat.completions.create(
                model=c.model, messages=messages, response_format=response_format, temperature=0.2
            )
        except openai.APITimeoutError as exc:
            raise _Unusable(
                f"the model did not answer within the {c.timeout:g} s timeout ({retried})"
            ) from exc
        except openai.APIConnectionError as exc:
            raise _Unusable(f"cannot reach the model provider ({retried}): {_short(str(exc))}") from exc
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status == 413 or (status == 400 and _TOO_LONG.search(f"{exc.code} {exc.message}")):
                raise _TooLong(_short(exc.message)) from exc
            if status == 429:
                raise _Unusable(f"rate limited by the model provider (429, {retried})") from exc
            if status in (401, 403):
                raise _Unusable(f"the model provider rejected the API key ({status})") from exc
            if status >= 500:
                raise _Unusable(f"the model provider answered {status} ({retried})") from exc
            raise _Unusable(f"the model provider answered {status}: {_short(exc.message)}") from exc
        except openai.OpenAIError as exc:
            raise _Unusable(f"the model call failed: {_short(str(exc))}") from exc
        self.calls += 1
        if response.usage:
            self.tokens_in += response.usage.prompt_tokens
            self.tokens_out += response.usage.completion_tokens
        if not response.choices:
            raise _Unusable("the model provider returned no answer")
        choice = response.choices[0]
        if choice.finish_reason == "length":
            raise _TooLong("the answer was cut off at the model's output limit", output=True)
        if choice.finish_reason == "content_filter":
            raise _Unusable("the model provider's content filter withheld the answer")
        return choice.message.content or ""

    def client(self) -> Any:
        if self._client is None:
            self._client = _client(self.config)
        return self._client

    def _system(self, name: str, **values: str) -> str:
        extra = " ".join(self.config.instructions.split())
        instructions = self.prompts["instructions"].format(instructions=extra) if extra else ""
        return self.prompts[name].format(language=self.config.language, instructions=instructions, **values)

    def _fixed_cost(self, system: str, name: str, **empty: str) -> int:
        """Tokens of a request before its data: both messages' frames and room for one repair turn."""
        frame = self.prompts[name].format(**empty)
        repair = self.prompts["repair"].format(error="x" * 60)
        return budget.count_messages(
            [
                {"role": "system", "content": system},
                {"role": "user", "content": frame},
                {"role": "user", "content": repair},
            ]
        )


def _client(c: LlmConfig) -> Any:
    import openai

    common: dict[str, Any] = {"timeout": c.timeout, "max_retries": c.max_retries}
    if c.provider == "azure":  # settings made sure base_url is the resource's endpoint
        return openai.AzureOpenAI(
            azure_endpoint=c.base_url, api_key=c.api_key, api_version=c.azure_api_version, **common
        )
    base_url = c.base_url or (GITHUB_MODELS_URL if c.provider == "github-models" else None)
    # Local servers (Ollama, vLLM) need no key, but the SDK insists on one.
    return openai.OpenAI(api_key=c.api_key or "unused", base_url=base_url, **common)


def _short(text: str, limit: int = 200) -> str:
    return " ".join(text.split())[:limit]
