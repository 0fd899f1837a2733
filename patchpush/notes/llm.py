"""The LLM writer: notes through the OpenAI SDK, grounded in the ChangeSet, within a token budget.

Every item the model writes must cite the numbers of the lines it was shown, and be about them
(`attribution.py`): invented refs are removed, a misattributed item moves to the change it describes
or gives way to the offline writer's items, each change stays in one item, and typed changes sit in
their type's section. Changes the model left out are added back by the offline writer, in their own
sections. A range too large for one request is sent in chunks (map, several at once), then one more
call titles the whole (reduce). When the model cannot be used (timeouts, rate limits, bad or mostly
wrong output), the offline writer writes the notes and the reason is reported.
"""

from __future__ import annotations

import functools
import re
import threading
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

from patchpush.models import ChangeSet, NoteItem, ReleaseNotes, WriterReport
from patchpush.notes import answer, attribution, budget, headline
from patchpush.notes.offline import SECTION_ORDER, write_offline

GITHUB_MODELS_URL = "https://models.github.ai/inference"
OUTPUT_RESERVE = 0.1  # share of the budget kept free of input, as slack for counting differences
MAX_SHRINKS = 4  # "too long" answers: halve the chunk size at most this often (1/16), then give up
_MIN_ROOM = 32  # fewer tokens than this for change lines is no useful request
# Output caps: sized from the chunk (see `_map_cap`), never above what gpt-4o(-mini) can give.
MAX_OUTPUT_TOKENS = 16_384
_CAP_BASE = 256
_CAP_PER_CHANGE = 48
SUMMARY_CAP = 200
# An answer longer than this many characters per token of its cap is not a model's answer (20 MB
# from a broken proxy): refused, never published.
MAX_ANSWER_CHARS_PER_TOKEN = 16
MAX_USAGE = 10_000_000  # token counts past this in `usage` are not counts
# The offline writer's sections: typed changes are filed there whatever the model says.
_SECTIONS = ", ".join(SECTION_ORDER)
# The summary request's outline ends "Sections: Features (3), ...": a summary that repeats it is no summary.
_ECHO = re.compile(r"\bSections: ")
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
    max_concurrency: int = 4  # chunk requests in flight at once


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
class _Chunk:
    """One request's worth of change lines, and what came back for it."""

    entries: list[budget.Entry]
    start: int  # position of its first entry in the range
    room: int  # tokens the change lines may use
    depth: int = 0  # halvings so far
    # The prompt lines and their tokens, when the plan already counted them (counting is the costly part).
    lines: list[str] | None = None
    used: int = 0


@dataclass
class _Answered:
    entries: list[budget.Entry]
    start: int
    reply: answer.Answer
    review: attribution.Review


@dataclass
class _Run:
    """One `write()`: the client, the prompts and what the run cost and fixed."""

    config: LlmConfig
    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 0
    invented: int = 0
    dropped: int = 0
    kept: int = 0
    reattributed: int = 0
    replaced: int = 0
    resectioned: int = 0
    duplicates: int = 0
    warnings: list[str] = field(default_factory=list)
    prompts: dict[str, str] = field(default_factory=lambda: _load_prompts())
    _client: Any = None
    _cap_param: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def report(self, **fields: Any) -> WriterReport:
        return WriterReport(
            writer="offline" if "fallback_reason" in fields else "llm",
            tokens_in=self.tokens_in,
            tokens_out=self.tokens_out,
            calls=self.calls,
            invented_refs=self.invented,
            dropped_items=self.dropped,
            kept=self.kept,
            reattributed=self.reattributed,
            replaced=self.replaced,
            resectioned=self.resectioned,
            duplicates_removed=self.duplicates,
            warnings=tuple(self.warnings),
            **fields,
        )

    # -- map, reduce, cover ---------------------------------------------------------------------

    def notes(self, changes: ChangeSet) -> ReleaseNotes:
        entries = budget.entries(changes.changes)
        system = self._system("system", repository=changes.repository)
        answered = self._map(entries, system)
        good = [a for a in answered if not a.review.mostly_wrong]
        for a in answered:
            self._count(a.review)
        wrong = [a for a in answered if a.review.mostly_wrong]
        if not good:
            wrote = sum(a.review.written for a in answered)
            bad = sum(a.review.wrong for a in answered)
            raise _Unusable(
                f"the model's notes were mostly wrong: {bad} of {wrote} items did not describe "
                "the changes they cite"
            )
        for a in wrong:
            span = f"{a.start + 1}-{a.start + len(a.entries)}"
            self.warnings.append(
                f"the model got {a.review.wrong} of {a.review.written} items wrong for changes {span} "
                f"of {len(entries)}; the offline writer describes those changes"
            )
        sections: dict[str, list[NoteItem]] = {}
        for a in good:
            for title, item in a.review.items:
                sections.setdefault(title, []).append(item)
        self.kept = sum(len(items) for items in sections.values())
        if len(good) == 1:
            title, summary = good[0].reply.title, good[0].reply.summary
        else:
            try:
                title, summary = self._reduce([a.reply for a in good], sections)
            except _Unusable as exc:  # the items are checked and paid for: only the title is lost
                self.warnings.append(f"the model could not title the notes ({exc}); the offline title stays")
                title = summary = ""
        cited = {sha for items in sections.values() for item in items for sha in item.shas}
        missing = tuple(c for c in changes.changes if c.sha not in cited)
        if missing:  # coverage: the offline writer describes what the model left out, in its own sections
            for section in write_offline(replace(changes, changes=missing)).sections:
                sections.setdefault(section.title, []).extend(section.items)
        if 2 * len(missing) > len(changes.changes):
            # A model that described less than half of the release sums up that part: the 0.5B model
            # wrote one item of commitizen v4.10.0's 36 and summed it up as the whole.
            summary = ""
        subjects = [s for c in changes.changes for s in (c.subject, c.description, c.pr_title or "")]
        subjects += [x.subject for x in changes.left_out]
        offline = write_offline(changes)
        if _is_english(self.config.language):
            summary = headline.substance(summary, changes)
            if headline.claims_missing_kind(title, changes.changes) or headline.names_another_version(
                title, changes
            ):
                title = ""
        if not title or headline.is_raw_subject(title, subjects):
            title = offline.title
        if not summary or headline.is_raw_subject(summary, subjects) or _ECHO.search(summary):
            summary = offline.summary
        return ReleaseNotes(
            title=title,
            summary=summary,
            sections=answer.ordered(sections),
            report=self.report(added_for_coverage=len(missing)),
        )

    def _count(self, review: attribution.Review) -> None:
        self.invented += review.invented
        self.dropped += review.dropped
        self.reattributed += review.reattributed
        self.replaced += review.replaced
        self.resectioned += review.resectioned
        self.duplicates += review.duplicates

    def _map(self, entries: list[budget.Entry], system: str) -> list[_Answered]:
        """Every chunk's answer, in the order of the changes, whatever order they arrive in."""
        limit = int(self.config.max_input_tokens * (1 - OUTPUT_RESERVE))
        room = limit - self._fixed_cost(system, "user", changes="")
        if room < _MIN_ROOM:
            raise _Unusable(f"max-input-tokens {self.config.max_input_tokens} leaves no room for the changes")
        chunks = []
        start = 0
        while start < len(entries):
            chunk, lines, used = budget.take(entries[start:], room, budget.MAX_CHUNK_CHANGES)
            chunks.append(_Chunk(chunk, start, room, lines=lines, used=used))
            start += len(chunk)
        workers = min(len(chunks), max(1, self.config.max_concurrency))
        if workers == 1:
            return [a for chunk in chunks for a in self._answer(chunk, system)]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="patchpush-llm") as pool:
            futures = [pool.submit(self._answer, chunk, system) for chunk in chunks]
            results: list[_Answered] = []
            try:
                for future in futures:  # in order: the first chunk that failed names the reason
                    results += future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return results

    def _answer(self, chunk: _Chunk, system: str) -> list[_Answered]:
        """The answer for one chunk; one it refuses as too long is asked again in two halves."""
        if chunk.lines is None:
            entries, lines, used = budget.take(chunk.entries, chunk.room, len(chunk.entries))
        else:
            entries, lines, used = chunk.entries, chunk.lines, chunk.used
        user = self.prompts["user"].format(changes="\n".join(lines))
        cap = _map_cap(len(entries))
        known = self._fixed_cost(system, "user", changes="") + used  # what count_messages would say, or more
        try:
            reply = self._ask(system, user, answer.NOTES_SCHEMA, "release_notes", cap, tokens=known)
        except _TooLong as exc:
            # The model's window or output limit is smaller than we were told.
            if chunk.depth >= MAX_SHRINKS or (len(entries) == 1 and (exc.output or used // 2 < _MIN_ROOM)):
                raise _Unusable(
                    f"requests stayed too long for the model down to {len(entries)} changes "
                    f"in {used} tokens ({exc})"
                ) from exc
            depth = chunk.depth + 1
            if len(entries) == 1:
                return self._answer(_Chunk(entries, chunk.start, used // 2, depth), system)
            half = (len(entries) + 1) // 2
            return [
                *self._answer(_Chunk(entries[:half], chunk.start, chunk.room, depth), system),
                *self._answer(_Chunk(entries[half:], chunk.start + half, chunk.room, depth), system),
            ]
        review = attribution.review(reply.sections, entries, strict=_is_english(self.config.language))
        return [_Answered(entries, chunk.start, reply, review)]

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
                reply = self._ask(system, user, answer.SUMMARY_SCHEMA, "notes_summary", SUMMARY_CAP)
            except _TooLong:
                room //= 2
                continue
            return reply.title, reply.summary
        raise _Unusable("the model rejected the summary request as too long")

    # -- one request ----------------------------------------------------------------------------

    def _ask(
        self,
        system: str,
        user: str,
        schema: dict[str, Any],
        name: str,
        cap: int,
        *,
        tokens: int | None = None,
    ) -> answer.Answer:
        """`tokens`: the request's size when the caller counted it (with room for the repair turn)."""
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        text = self._complete(messages, schema, name, cap, tokens=tokens)
        try:
            return answer.parse(text)
        except ValueError as first:
            # One repair: say what was wrong and ask again (the bad answer is not echoed: it may be long).
            repair = self.prompts["repair"].format(error=_short(str(first), 60))
            repaired = [*messages, {"role": "user", "content": repair}]
            text = self._complete(repaired, schema, name, cap, tokens=tokens)
            try:
                return answer.parse(text)
            except ValueError as second:
                raise _Unusable(
                    "the model's answer was not valid notes JSON, even after one repair "
                    f"({_short(str(second))})"
                ) from None

    def _complete(
        self,
        messages: list[dict[str, str]],
        schema: dict[str, Any],
        name: str,
        cap: int,
        *,
        tokens: int | None,
    ) -> str:
        import openai  # lazily: importing it costs ~0.4 s, and the offline path never needs it

        tokens = budget.count_messages(messages) if tokens is None else tokens
        if tokens > self.config.max_input_tokens:
            raise _TooLong(f"{tokens} tokens counted before sending")
        c = self.config
        response_format: Any = {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": True},
        }
        retried = f"{c.max_retries} retr{'y' if c.max_retries == 1 else 'ies'}"
        client = self.client()
        for _ in range(2):  # the second time with the other output-cap parameter, if the model wants it
            param = self._cap_param
            try:
                response = client.chat.completions.create(
                    model=c.model,
                    messages=messages,
                    response_format=response_format,
                    temperature=0.2,
                    **{param: cap},
                )
                break
            except openai.APIStatusError as exc:
                other = _other_cap_param(exc, param)
                if other is None:
                    raise _status_error(exc, retried) from exc
                with self._lock:
                    self._cap_param = other
            except openai.APITimeoutError as exc:
                raise _Unusable(
                    f"the model did not answer within the {c.timeout:g} s timeout ({retried})"
                ) from exc
            except openai.APIConnectionError as exc:
                raise _Unusable(f"cannot reach the model provider ({retried}): {_short(str(exc))}") from exc
            except openai.OpenAIError as exc:
                raise _Unusable(f"the model call failed: {_short(str(exc))}") from exc
            except ValueError as exc:  # the SDK decodes a body that is not JSON with json.loads
                raise _Unusable(f"the model provider's answer was not JSON ({_short(str(exc), 80)})") from exc
        else:
            raise _Unusable("the model provider refused both max_tokens and max_completion_tokens")
        text, finish_reason, usage = _completion(response)
        with self._lock:
            self.calls += 1
            self.tokens_in += usage[0]
            self.tokens_out += usage[1]
        if finish_reason == "length":
            raise _TooLong("the answer was cut off at the model's output limit", output=True)
        if finish_reason == "content_filter":
            raise _Unusable("the model provider's content filter withheld the answer")
        limit = cap * MAX_ANSWER_CHARS_PER_TOKEN + 4096
        if len(text) > limit:
            raise _Unusable(
                f"the model's answer was {len(text):,} characters, more than {limit:,} for {cap} tokens"
            )
        return text

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                key = self.config.api_key
                if not key.isascii() or not key.isprintable():
                    # httpx cannot send it as a header (UnicodeEncodeError); say so, never show it.
                    raise _Unusable(
                        "the API key holds non-ASCII or control characters: check the secret "
                        "(API keys are plain ASCII)"
                    )
                self._client = _client(self.config)
                self._cap_param = _cap_param(self.config)
            return self._client

    def _system(self, name: str, **values: str) -> str:
        extra = budget.inert(" ".join(self.config.instructions.split()))
        instructions = self.prompts["instructions"].format(instructions=extra) if extra else ""
        return self.prompts[name].format(
            language=self.config.language, instructions=instructions, sections=_SECTIONS, **values
        )

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


def _map_cap(entries: int) -> int:
    """The output cap of a request for `entries` change lines: an item of ~25 tokens for each, the
    title and summary, and slack; a model that repeats itself stops there instead of running on."""
    return min(MAX_OUTPUT_TOKENS, _CAP_BASE + _CAP_PER_CHANGE * entries)


def _cap_param(c: LlmConfig) -> str:
    # OpenAI's own API and Azure take max_completion_tokens for every model, and the o-series and
    # gpt-5 refuse max_tokens; OpenAI-compatible servers (Ollama, vLLM, llama.cpp) know max_tokens.
    if c.provider == "azure" or (c.provider == "openai" and not c.base_url):
        return "max_completion_tokens"
    return "max_tokens"


def _other_cap_param(exc: Any, param: str) -> str | None:
    """The other output-cap parameter, when the provider refused this one (400 unsupported_parameter)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    if exc.status_code != 400 or (exc.code or body.get("code")) not in ("unsupported_parameter", None):
        return None
    if param not in f"{exc.param or ''} {exc.message}":
        return None
    return "max_tokens" if param == "max_completion_tokens" else "max_completion_tokens"


def _status_error(exc: Any, retried: str) -> Exception:
    status = exc.status_code
    if status == 413 or (status == 400 and _TOO_LONG.search(f"{exc.code} {exc.message}")):
        return _TooLong(_short(exc.message))
    if status == 429:
        return _Unusable(f"rate limited by the model provider (429, {retried})")
    if status in (401, 403):
        return _Unusable(f"the model provider rejected the API key ({status})")
    if status >= 500:
        return _Unusable(f"the model provider answered {status} ({retried})")
    return _Unusable(f"the model provider answered {status}: {_short(exc.message)}")


def _completion(response: Any) -> tuple[str, str | None, tuple[int, int]]:
    """Text, finish reason and usage of a chat completion, read with care: the SDK does not check the
    shape of what a server sends, so a proxy's answer may be anything."""
    if isinstance(response, str):
        if response.lstrip().startswith(("data:", "event:", ":")):
            raise _Unusable(
                "the model provider answered with an event stream, not one completion "
                "(check `base-url`: the endpoint must answer stream=false requests)"
            )
        raise _Unusable(f"the model provider's answer was not a chat completion: {_short(response, 60)!r}")
    if not hasattr(response, "choices"):  # a JSON array or number: the SDK hands it over as it is
        raise _Unusable("the model provider's answer was not a chat completion")
    usage = getattr(response, "usage", None)
    counts = (getattr(usage, "prompt_tokens", 0), getattr(usage, "completion_tokens", 0)) if usage else (0, 0)
    if not all(n is None or (type(n) is int and 0 <= n <= MAX_USAGE) for n in counts):
        raise _Unusable(f"the model provider reported odd token usage ({_short(repr(counts), 80)})")
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise _Unusable("the model provider returned no answer")
    message = getattr(choices[0], "message", None)
    text = getattr(message, "content", None)
    finish_reason = getattr(choices[0], "finish_reason", None)
    if text is not None and not isinstance(text, str):
        raise _Unusable("the model provider's answer has no text content")
    return text or "", finish_reason, (counts[0] or 0, counts[1] or 0)


def _is_english(language: str) -> bool:
    return language.strip().lower() in ("", "english", "en", "en-us", "en-gb", "en_us", "en_gb")


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
