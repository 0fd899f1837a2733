"""A loopback GitHub API emulator backed by a real bare git repository.

Tests and benchmarks talk to it over real HTTP with the real PyGithub client:

    with GitHubEmulator(bare_repo) as emu:
        gh = github.Github(auth=github.Auth.Token("test-token"), base_url=emu.base_url)

Commits made through the Contents API are real git commits (`git log` and `git fsck` see them); the branch
moves with `git update-ref NEW OLD`, so concurrent writers get GitHub's 409 instead of losing an update.
Pull requests, releases, branch protection and tokens live in memory. Every request is recorded
(`emu.requests`) and faults can be injected (`emu.add_fault(Fault("rate_limit", retry_after=1))`).
Status codes, messages and JSON shapes follow docs.github.com; see the module's tests for what is checked.

Run alone: `python -m tests.fakes.github_server --repo PATH [--port N]` prints the base URL on its first line.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import re
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
import zlib
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from tests.fakes import github_graphql
from tests.fakes.github_git import CommitInfo, FileChange, GitRepo, Identity, TreeEntry, iso_utc

__all__ = ["Fault", "GitHubEmulator", "PullRequestRecord", "RecordedRequest", "ReleaseRecord"]

# Faults of the connection itself, the way networks and a dying GitHub fail (served by the HTTP plumbing):
#   drop: the request is read, then the connection closes with no answer ("Remote end closed connection").
#   reset: the request is read, then a TCP RST (ECONNRESET), no answer.
#   lost_answer: the request is handled in full (a PUT makes its commit), then closed with no answer.
#   truncate: handled in full, then the headers and half the body, then closed (IncompleteRead).
#   die: GitHub goes away: the connection drops and the port refuses every later connection.
ConnectionFaultKind = Literal["drop", "reset", "lost_answer", "truncate", "die"]
CONNECTION_FAULTS = frozenset({"drop", "reset", "lost_answer", "truncate", "die"})

DOCS = "https://docs.github.com/rest"
MAX_FILE_FOR_JSON = 1024 * 1024  # larger files come back with content "" and encoding "none"
MAX_RELEASE_BODY = 125_000
ACTIONS_BOT = Identity("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com", 0)
WEB_FLOW = Identity("GitHub", "noreply@github.com", 0)
KNOWN_IDS = {"github-actions[bot]": 41898282, "web-flow": 19864447, "octocat": 583231}
RULESET_PR_REQUIRED = "Repository rule violations found\n\nChanges must be made through a pull request.\n\n"

FaultKind = Literal["server_error", "rate_limit", "conflict", "forbidden", "not_found", "slow"]


@dataclass
class Fault:
    """A rule that answers matching requests badly, `times` times after skipping `after` of them.

    server_error: `status` 500/502/503 (default 502). rate_limit: `status` 403 or 429 (default 403);
    a primary limit (x-ratelimit-remaining: 0, x-ratelimit-reset now + `reset_in`) unless `secondary`
    or `retry_after` is set, which gives GitHub's secondary-limit message (with Retry-After when given).
    conflict: a Contents PUT loses a race: another writer commits to the same file just before the
    branch is moved, so the request gets 409 "is at <new head> but expected <old head>".
    forbidden: 403 "Resource not accessible by integration". not_found: 404. slow: sleep `delay` s first.
    `path` is a regex searched in the request path (GHES "/api/v3" prefix removed).
    """

    kind: FaultKind | ConnectionFaultKind
    _: KW_ONLY
    method: str | None = None
    path: str | None = None
    times: int = 1
    after: int = 0
    status: int | None = None
    retry_after: int | None = None
    secondary: bool = False
    reset_in: float = 60.0
    delay: float = 0.0
    message: str | None = None
    seen: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path is None or re.search(self.path, path) is not None
        )

    @property
    def spent(self) -> bool:
        return self.fired >= self.times


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    status: int
    request_headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class PullRequestRecord:
    id: int
    number: int
    title: str
    body: str | None
    labels: list[str]
    author: str
    head_ref: str
    head_sha: str
    base: str
    base_sha: str
    state: str  # open or closed
    draft: bool
    merged_at: str | None
    merge_commit_sha: str | None
    commits: list[str]
    created_at: str
    updated_at: str
    closed_at: str | None
    created_via_api: bool = False


@dataclass
class ReleaseRecord:
    id: int
    tag_name: str
    name: str | None
    body: str
    draft: bool
    prerelease: bool
    target_commitish: str
    created_at: str
    published_at: str | None
    author: str = "github-actions[bot]"


class _HttpError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        doc: str = "",
        *,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.doc = doc
        self.errors = errors
        self.headers = headers or {}


@dataclass
class _Response:
    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


@dataclass
class _Ctx:
    """One request, plus the URL roots its answer must point back to."""

    method: str
    raw_path: str
    path: str  # prefix removed
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    host_root: str  # http://127.0.0.1:PORT
    api_root: str  # host_root or host_root + "/api/v3"
    token: str | None = None
    owner: str = ""
    name: str = ""
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def repo_api(self) -> str:
        return f"{self.api_root}/repos/{self.owner}/{self.name}"

    @property
    def repo_html(self) -> str:
        return f"{self.host_root}/{self.owner}/{self.name}"

    def json_body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body or b"{}")
        except ValueError:
            raise _HttpError(400, "Problems parsing JSON", f"{DOCS}") from None
        if not isinstance(data, dict):
            raise _HttpError(400, "Problems parsing JSON", f"{DOCS}")
        return data


_Handler = Callable[["GitHubEmulator", _Ctx, re.Match[str]], _Response]
_ROUTES: list[tuple[str, re.Pattern[str], str, str]] = []  # method, pattern, handler name, permission


def _route(method: str, pattern: str, permission: str = "") -> Callable[[Any], Any]:
    def register(func: Any) -> Any:
        _ROUTES.append(
            (
                method,
                re.compile(f"^/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+){pattern}$"),
                func.__name__,
                permission,
            )
        )
        return func

    return register


class GitHubEmulator:
    """GitHub's REST and GraphQL APIs for one repository, served on 127.0.0.1 from a bare git repo."""

    def __init__(
        self,
        bare_repo: Path,
        *,
        owner: str | None = "octo-org",
        name: str | None = "widgets",
        tokens: dict[str, set[str]] | None = None,
        default_branch: str | None = None,
        port: int = 0,
    ) -> None:
        self.git = GitRepo(Path(bare_repo))
        self.owner = owner  # None with name=None: answer for any owner/name (the CLI does)
        self.name = name
        self.tokens = (
            tokens if tokens is not None else {"test-token": {"contents:write", "pull_requests:write"}}
        )
        self._default_branch = default_branch
        self._port = port
        self.actions_can_create_pull_requests = True
        # Requests each resource (core, graphql) may make before GitHub refuses them until the reset.
        self.rate_limit = 5000
        # GraphQL history pages larger than this time out (None: never), answered with this status:
        # 502 or 504 as GitHub's gateway sends them, or 200 with GitHub's "Something went wrong" error.
        self.graphql_max_history_page: int | None = None
        self.graphql_timeout_status = 502
        self._lock = threading.Lock()
        self._ref_lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._pulls: list[PullRequestRecord] = []
        self._pull_index: dict[str, list[PullRequestRecord]] = {}
        self._releases: list[ReleaseRecord] = []
        self._protected: set[str] = set()
        self._users: dict[str, str] = {}  # email -> login
        self._used = {"core": 0, "graphql": 0}
        self._reset_at = int(time.time()) + 3600
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._interlopes = 0

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> GitHubEmulator:
        if self._server is None:
            self._server = _Server(("127.0.0.1", self._port), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="github-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> GitHubEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- scenario set-up ----------------------------------------------------------------------------

    def add_pull_request(
        self,
        *,
        number: int | None = None,
        title: str,
        body: str | None,
        labels: list[str] | None = None,
        author: str = "octocat",
        merge_commit_sha: str | None = None,
        head_ref: str = "feature",
        base: str = "main",
        merged_at: str | None = None,
        commits: list[str] | None = None,
        state: Literal["merged", "open", "closed"] = "merged",
    ) -> int:
        """Record a pull request; every commit it holds is associated with it, as on GitHub.

        A merged PR's `merge_commit_sha` is its merge, squash or last rebased commit. Its `commits` (the
        branch, oldest first) default, for a merge commit, to what its other parents brought in
        (`git rev-list first-parent..other-parents`), as GitHub records them. An `open` or `closed`
        (unmerged) PR has no merge commit: give it `commits`."""
        self.git.warm()  # one `git log --all` instead of a git process per pull request
        merge_sha = (
            (self.git.resolve_commit(merge_commit_sha) or merge_commit_sha) if merge_commit_sha else None
        )
        known = merge_sha is not None and self.git.resolve_commit(merge_sha) is not None
        parents = self.git.commit(merge_sha).parents if merge_sha and known else ()
        if commits is None and len(parents) >= 2:
            commits = self.git.rev_list([*parents[1:], f"^{parents[0]}"], reverse=True)
        shas = [self.git.resolve_commit(c) or c for c in commits or []]
        if state == "merged" and merge_sha is None:
            raise ValueError("a merged pull request needs its merge_commit_sha")
        if merge_sha and known:
            when = merged_at or self.git.commit(merge_sha).committer.iso
        elif shas and self.git.resolve_commit(shas[-1]):
            when = self.git.commit(shas[-1]).committer.iso
        else:
            when = merged_at or _now_iso()
        head_sha = shas[-1] if shas else merge_sha or ""
        with self._lock:
            number = number or self._next_number()
            self._add_pull(
                PullRequestRecord(
                    id=1_000_000 + number,
                    number=number,
                    title=title,
                    body=body,
                    labels=list(labels or []),
                    author=author,
                    head_ref=head_ref,
                    head_sha=head_sha,
                    base=base,
                    base_sha=parents[0] if parents else (merge_sha or head_sha),
                    state="open" if state == "open" else "closed",
                    draft=False,
                    merged_at=when if state == "merged" else None,
                    merge_commit_sha=merge_sha if state == "merged" else None,
                    commits=shas,
                    created_at=when,
                    updated_at=when,
                    closed_at=None if state == "open" else when,
                )
            )
        return number

    def add_release(
        self,
        tag: str,
        *,
        body: str = "",
        name: str | None = None,
        draft: bool = False,
        prerelease: bool = False,
    ) -> int:
        target = self.git.resolve_commit(tag)
        when = self.git.commit(target).committer.iso if target else _now_iso()
        with self._lock:
            release_id = 5_000_000 + len(self._releases) + 1
            self._releases.append(
                ReleaseRecord(
                    id=release_id,
                    tag_name=tag,
                    name=name if name is not None else tag,
                    body=body,
                    draft=draft,
                    prerelease=prerelease,
                    target_commitish=self.default_branch(),
                    created_at=when,
                    published_at=None if draft else when,
                )
            )
        return release_id

    def protect_branch(self, name: str) -> None:
        """Require pull requests on `name`, as a repository ruleset does."""
        with self._lock:
            self._protected.add(name)

    def add_user(self, login: str, *, email: str) -> None:
        """Make commits by `email` show `login` as their GitHub author."""
        with self._lock:
            self._users[email.lower()] = login

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    @property
    def rate_reset(self) -> int:
        """When the rate limits reset (epoch seconds), as x-ratelimit-reset says."""
        return self._reset_at

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def pull_requests(self) -> list[PullRequestRecord]:
        """Pull requests created through the API (POST /pulls)."""
        with self._lock:
            return [replace(p) for p in self._pulls if p.created_via_api]

    @property
    def all_pull_requests(self) -> list[PullRequestRecord]:
        with self._lock:
            return [replace(p) for p in self._pulls]

    @property
    def releases(self) -> list[ReleaseRecord]:
        with self._lock:
            return [replace(r) for r in self._releases]

    # --- what the GraphQL resolvers ask -------------------------------------------------------------

    def canonical_name(self, owner: str, name: str) -> tuple[str, str] | None:
        if self.owner is None or self.name is None:
            return owner, name
        if owner.lower() == self.owner.lower() and name.lower() == self.name.lower():
            return self.owner, self.name
        return None

    def default_branch(self) -> str:
        return self._default_branch or self.git.default_branch() or "main"

    def pulls_for_commit(self, sha: str) -> list[PullRequestRecord]:
        with self._lock:
            return list(self._pull_index.get(sha, []))

    def find_pull(self, number: int) -> PullRequestRecord | None:
        with self._lock:
            return next((p for p in self._pulls if p.number == number), None)

    def login_for_email(self, email: str) -> str | None:
        with self._lock:
            if email.lower() in self._users:
                return self._users[email.lower()]
        if email.lower() == WEB_FLOW.email:
            return "web-flow"
        match = re.fullmatch(r"(?:\d+\+)?([^@]+)@users\.noreply\.github\.com", email, re.IGNORECASE)
        return match.group(1) if match else None

    def user_id(self, login: str) -> int:
        return KNOWN_IDS.get(login, zlib.crc32(login.encode()) % 90_000_000 + 1_000_000)

    # --- request handling ---------------------------------------------------------------------------

    def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> _Response:
        split = urlsplit(target)
        raw_path = split.path
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        prefix = ""
        path = raw_path
        if raw_path == "/api/graphql":
            prefix, path = "/api", "/graphql"
        elif raw_path.startswith("/api/v3/") or raw_path == "/api/v3":
            prefix, path = "/api/v3", raw_path.removeprefix("/api/v3") or "/"
        host_root = f"http://{headers.get('host', '127.0.0.1')}"
        ctx = _Ctx(method, raw_path, path, query, headers, body, host_root, host_root + prefix)
        resource = "graphql" if path == "/graphql" else "core"
        try:
            response = self._respond(ctx)
        except _HttpError as err:
            response = _error_response(err)
        except Exception:  # a bug in the emulator: answer like GitHub would, and say why on stderr
            traceback.print_exc()
            response = _Response(500, {"message": "Server Error", "documentation_url": DOCS, "status": "500"})
        with self._lock:
            if path != "/rate_limit":
                self._used[resource] += 1
            used = self._used[resource]
            redacted = {
                k: (v.split(" ", 1)[0] + " ***" if k.lower() == "authorization" else v)
                for k, v in headers.items()
            }
            self._requests.append(RecordedRequest(method, raw_path, query, response.status, redacted, body))
        rate_headers = {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(max(0, self.rate_limit - used)),
            "x-ratelimit-used": str(used),
            "x-ratelimit-reset": str(self._reset_at),
            "x-ratelimit-resource": resource,
        }
        response.headers = {**rate_headers, **response.headers}
        response.headers.setdefault("x-github-request-id", _request_id())
        response.headers.setdefault("x-github-api-version-selected", "2022-11-28")
        return response

    def _take_fault(self, ctx: _Ctx, *, conflict: bool) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if (
                    (fault.kind == "conflict") != conflict
                    or fault.kind in CONNECTION_FAULTS
                    or fault.spent
                    or not fault.matches(ctx.method, ctx.path)
                ):
                    continue
                fault.seen += 1
                if fault.seen > fault.after:
                    fault.fired += 1
                    return fault
        return None

    def _respond(self, ctx: _Ctx) -> _Response:
        fault = self._take_fault(ctx, conflict=False)
        if fault is not None:
            if fault.kind != "slow":
                return self._fault_response(fault, ctx)
            time.sleep(fault.delay)
        if (spent := self._rate_spent(ctx)) is not None:
            return spent
        auth = ctx.headers.get("authorization", "")
        if auth:
            scheme, _, credential = auth.partition(" ")
            if scheme.lower() == "basic":
                try:
                    credential = (
                        base64.b64decode(credential + "==").decode(errors="replace").partition(":")[2]
                    )
                except (binascii.Error, ValueError):
                    credential = ""
            if credential.strip() not in self.tokens:
                doc = "https://docs.github.com/graphql" if ctx.path == "/graphql" else DOCS
                raise _HttpError(401, "Bad credentials", doc)
            ctx.token = credential.strip()
        if ctx.path == "/rate_limit" and ctx.method == "GET":
            return self._rate_limit_response()
        if ctx.path == "/graphql":
            if ctx.token is None:
                raise _HttpError(
                    401,
                    "This endpoint requires you to be authenticated.",
                    "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql",
                )
            if ctx.method != "POST":
                raise _HttpError(404, "Not Found", DOCS)
            return self._graphql(ctx)
        raw_match = re.match(r"^/(?P<owner>[^/]+)/(?P<repo>[^/]+)/raw/(?P<rest>.+)$", ctx.path)
        if raw_match and ctx.method == "GET":
            return self._raw_download(ctx, raw_match)
        for method, pattern, handler_name, permission in _ROUTES:
            match = pattern.match(ctx.path)
            if match is None or method != ctx.method:
                continue
            canonical = self.canonical_name(unquote(match["owner"]), unquote(match["repo"]))
            if canonical is None or ctx.token is None:
                raise _HttpError(404, "Not Found", DOCS)
            ctx.owner, ctx.name = canonical
            self._require(ctx, permission)
            handler: _Handler = getattr(GitHubEmulator, handler_name)
            return handler(self, ctx, match)
        raise _HttpError(404, "Not Found", DOCS)

    def _require(self, ctx: _Ctx, permission: str) -> None:
        if not permission:
            return
        granted = self.tokens.get(ctx.token or "", set())
        scope, _, level = permission.partition(":")
        if permission in granted or (level == "read" and f"{scope}:write" in granted):
            return
        raise _HttpError(
            403,
            "Resource not accessible by integration",
            DOCS,
            headers={"x-accepted-github-permissions": f"{scope}={level}"},
        )

    def _fault_response(self, fault: Fault, ctx: _Ctx) -> _Response:
        request_id = _request_id()
        headers = {"x-github-request-id": request_id}
        if fault.kind == "server_error":
            status = fault.status or 502
            words = {500: "Server Error", 502: "Server Error", 503: "Service Unavailable"}
            message = fault.message or words.get(status, "Server Error")
            return _Response(
                status, {"message": message, "documentation_url": DOCS, "status": str(status)}, headers
            )
        if fault.kind == "rate_limit":
            status = fault.status or 403
            doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
            if fault.secondary or fault.retry_after is not None:
                message = fault.message or (
                    "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
                    "again. If you reach out to GitHub Support for help, please include the request ID "
                    f"{request_id}."
                )
                if fault.retry_after is not None:
                    headers["retry-after"] = str(fault.retry_after)
                doc += "#about-secondary-rate-limits"
            else:
                message = fault.message or "API rate limit exceeded for installation ID 12345678."
                headers["x-ratelimit-remaining"] = "0"
                headers["x-ratelimit-used"] = str(self.rate_limit)
                headers["x-ratelimit-reset"] = str(int(time.time() + fault.reset_in))
            return _Response(
                status, {"message": message, "documentation_url": doc, "status": str(status)}, headers
            )
        if fault.kind == "forbidden":
            message = fault.message or "Resource not accessible by integration"
            return _Response(
                fault.status or 403,
                {"message": message, "documentation_url": DOCS, "status": str(fault.status or 403)},
                headers,
            )
        return _Response(
            fault.status or 404,
            {
                "message": fault.message or "Not Found",
                "documentation_url": DOCS,
                "status": str(fault.status or 404),
            },
            headers,
        )

    def _rate_limit_response(self) -> _Response:
        with self._lock:
            used = dict(self._used)

        def bucket(limit: int, spent: int) -> dict[str, int]:
            return {
                "limit": limit,
                "used": spent,
                "remaining": max(0, limit - spent),
                "reset": self._reset_at,
            }

        resources = {
            "core": bucket(self.rate_limit, used["core"]),
            "graphql": bucket(self.rate_limit, used["graphql"]),
            "search": bucket(30, 0),
            "integration_manifest": bucket(5000, 0),
            "code_search": bucket(10, 0),
        }
        return _Response(200, {"resources": resources, "rate": resources["core"]})

    def _graphql(self, ctx: _Ctx) -> _Response:
        try:
            payload = json.loads(ctx.body or b"null")
        except ValueError:
            raise _HttpError(400, "Problems parsing JSON", "https://docs.github.com/graphql") from None
        with self._lock:
            used = self._used["graphql"] + 1
        rate = github_graphql.RateState(self.rate_limit, max(0, self.rate_limit - used), used, self._reset_at)
        granted = frozenset(self.tokens.get(ctx.token or "", ()))
        try:
            document = github_graphql.execute(
                self, ctx.host_root, payload, rate, granted, max_history_page=self.graphql_max_history_page
            )
        except github_graphql.QueryTimeout:
            request_id = _request_id()
            message = github_graphql.QUERY_TIMEOUT_MESSAGE.format(request_id=request_id)
            return _Response(
                self.graphql_timeout_status,
                {"data": None, "errors": [{"message": message}]},
                {"x-github-request-id": request_id},
            )
        return _Response(200, document)

    def _rate_spent(self, ctx: _Ctx) -> _Response | None:
        """GitHub's answer once a resource's limit is spent: REST gets 403 with x-ratelimit-remaining: 0;
        GraphQL gets HTTP 200 with a RATE_LIMITED error (docs: rate limits for the REST and GraphQL APIs)."""
        if ctx.path == "/rate_limit":
            return None
        resource = "graphql" if ctx.path == "/graphql" else "core"
        with self._lock:
            if self._used[resource] < self.rate_limit:
                return None
        headers = {"x-ratelimit-remaining": "0", "x-ratelimit-used": str(self.rate_limit)}
        message = "API rate limit exceeded for installation ID 12345678."
        if resource == "graphql":
            return _Response(200, {"errors": [{"type": "RATE_LIMITED", "message": message}]}, headers)
        doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
        return _Response(403, {"message": message, "documentation_url": doc, "status": "403"}, headers)

    # --- helpers ------------------------------------------------------------------------------------

    def _add_pull(self, pr: PullRequestRecord) -> None:
        """Keep `pr` and index it by the commits it is associated with (call with the lock held)."""
        self._pulls.append(pr)
        for sha in dict.fromkeys([pr.merge_commit_sha or "", pr.head_sha, *pr.commits]):
            if sha:
                self._pull_index.setdefault(sha, []).append(pr)

    def _next_number(self) -> int:
        return max((p.number for p in self._pulls), default=0) + 1

    def _resolve(self, ref: str, message: str, doc: str, status: int = 404) -> str:
        sha = self.git.resolve_commit(ref)
        if sha is None:
            raise _HttpError(status, message, doc)
        return sha

    # --- JSON shapes --------------------------------------------------------------------------------

    def _user(self, ctx: _Ctx, login: str | None, kind: str | None = None) -> dict[str, Any] | None:
        if login is None:
            return None
        uid = self.user_id(login)
        base = f"{ctx.api_root}/users/{quote(login)}"
        kind = kind or ("Bot" if login.endswith("[bot]") else "User")
        html = (
            f"{ctx.host_root}/apps/{login.removesuffix('[bot]')}"
            if kind == "Bot"
            else f"{ctx.host_root}/{login}"
        )
        return {
            "login": login,
            "id": uid,
            "node_id": _b64(f"04:{kind}{uid}"),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
            "gravatar_id": "",
            "url": base,
            "html_url": html,
            "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs",
            "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events",
            "type": kind,
            "user_view_type": "public",
            "site_admin": False,
        }

    def _repo_json(self, ctx: _Ctx) -> dict[str, Any]:
        if "repo" not in ctx.memo:
            ctx.memo["repo"] = self._build_repo_json(ctx)
        return dict(ctx.memo["repo"])

    def _build_repo_json(self, ctx: _Ctx) -> dict[str, Any]:
        api, html = ctx.repo_api, ctx.repo_html
        full = f"{ctx.owner}/{ctx.name}"
        head = self.git.branch_head(self.default_branch())
        pushed = self.git.commit(head).committer.iso if head else "2020-01-01T00:00:00Z"
        url_templates = {
            "archive_url": "/{archive_format}{/ref}",
            "assignees_url": "/assignees{/user}",
            "blobs_url": "/git/blobs{/sha}",
            "branches_url": "/branches{/branch}",
            "collaborators_url": "/collaborators{/collaborator}",
            "comments_url": "/comments{/number}",
            "commits_url": "/commits{/sha}",
            "compare_url": "/compare/{base}...{head}",
            "contents_url": "/contents/{+path}",
            "contributors_url": "/contributors",
            "deployments_url": "/deployments",
            "downloads_url": "/downloads",
            "events_url": "/events",
            "forks_url": "/forks",
            "git_commits_url": "/git/commits{/sha}",
            "git_refs_url": "/git/refs{/sha}",
            "git_tags_url": "/git/tags{/sha}",
            "issue_comment_url": "/issues/comments{/number}",
            "issue_events_url": "/issues/events{/number}",
            "issues_url": "/issues{/number}",
            "keys_url": "/keys{/key_id}",
            "labels_url": "/labels{/name}",
            "languages_url": "/languages",
            "merges_url": "/merges",
            "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}",
            "pulls_url": "/pulls{/number}",
            "releases_url": "/releases{/id}",
            "stargazers_url": "/stargazers",
            "statuses_url": "/statuses/{sha}",
            "subscribers_url": "/subscribers",
            "subscription_url": "/subscription",
            "tags_url": "/tags",
            "teams_url": "/teams",
            "trees_url": "/git/trees{/sha}",
            "hooks_url": "/hooks",
        }
        host = ctx.host_root.removeprefix("http://")
        return {
            "id": zlib.crc32(full.encode()),
            "node_id": _b64(f"010:Repository{full}"),
            "name": ctx.name,
            "full_name": full,
            "private": True,
            "owner": self._user(ctx, ctx.owner, "Organization"),
            "html_url": html,
            "description": None,
            "fork": False,
            "url": api,
            **{key: api + suffix for key, suffix in url_templates.items()},
            "git_url": f"git://{host}/{full}.git",
            "ssh_url": f"git@{host}:{full}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "size": 0,
            "default_branch": self.default_branch(),
            "open_issues_count": 0,
            "is_template": False,
            "topics": [],
            "has_issues": True,
            "has_projects": False,
            "has_wiki": False,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "visibility": "private",
            "pushed_at": pushed,
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": pushed,
            "permissions": self._permissions(ctx),
            "allow_forking": False,
            "web_commit_signoff_required": False,
            "subscribers_count": 0,
            "network_count": 0,
            "license": None,
            "forks": 0,
            "open_issues": 0,
            "watchers": 0,
        }

    def _permissions(self, ctx: _Ctx) -> dict[str, bool]:
        write = "contents:write" in self.tokens.get(ctx.token or "", set())
        return {"admin": False, "maintain": False, "push": write, "triage": write, "pull": True}

    def _commit_json(
        self, ctx: _Ctx, info: CommitInfo, changes: list[FileChange] | None = None
    ) -> dict[str, Any]:
        sha = info.sha
        author = self.login_for_email(info.author.email)
        committer = self.login_for_email(info.committer.email)
        data: dict[str, Any] = {
            "sha": sha,
            "node_id": _b64(f"06:Commit{sha}"),
            "commit": {
                "author": _person(info.author),
                "committer": _person(info.committer),
                "message": info.message,
                "tree": {"sha": info.tree, "url": f"{ctx.repo_api}/git/trees/{info.tree}"},
                "url": f"{ctx.repo_api}/git/commits/{sha}",
                "comment_count": 0,
                "verification": _unsigned(),
            },
            "url": f"{ctx.repo_api}/commits/{sha}",
            "html_url": f"{ctx.repo_html}/commit/{sha}",
            "comments_url": f"{ctx.repo_api}/commits/{sha}/comments",
            "author": self._user(ctx, author),
            "committer": self._user(ctx, committer),
            "parents": [
                {"sha": p, "url": f"{ctx.repo_api}/commits/{p}", "html_url": f"{ctx.repo_html}/commit/{p}"}
                for p in info.parents
            ],
        }
        if changes is not None:
            additions = sum(c.additions for c in changes)
            deletions = sum(c.deletions for c in changes)
            data["stats"] = {"total": additions + deletions, "additions": additions, "deletions": deletions}
            data["files"] = [self._file_json(ctx, sha, c) for c in changes]
        return data

    def _file_json(self, ctx: _Ctx, ref: str, change: FileChange) -> dict[str, Any]:
        path = quote(change.filename)
        item: dict[str, Any] = {
            "sha": change.sha,
            "filename": change.filename,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": f"{ctx.repo_html}/blob/{ref}/{path}",
            "raw_url": f"{ctx.repo_html}/raw/{ref}/{path}",
            "contents_url": f"{ctx.repo_api}/contents/{path}?ref={ref}",
        }
        if change.patch is not None:
            item["patch"] = change.patch
        if change.previous_filename is not None:
            item["previous_filename"] = change.previous_filename
        return item

    def _content_json(self, ctx: _Ctx, ref: str, entry: TreeEntry, *, with_data: bool) -> dict[str, Any]:
        kind = {"tree": "dir", "commit": "submodule"}.get(
            entry.type, "symlink" if entry.mode == "120000" else "file"
        )
        path = quote(entry.path)
        git_url = f"{ctx.repo_api}/git/{'trees' if kind == 'dir' else 'blobs'}/{entry.sha}"
        html_url = f"{ctx.repo_html}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{path}"
        url = f"{ctx.repo_api}/contents/{path}?ref={quote(ref, safe='')}"
        item: dict[str, Any] = {
            "name": entry.path.rsplit("/", 1)[-1],
            "path": entry.path,
            "sha": entry.sha,
            "size": max(entry.size, 0),
            "url": url,
            "html_url": html_url,
            "git_url": git_url,
            "download_url": f"{ctx.host_root}/{ctx.owner}/{ctx.name}/raw/{ref}/{path}"
            if kind == "file"
            else None,
            "type": kind,
            "_links": {"self": url, "git": git_url, "html": html_url},
        }
        if with_data and kind == "file":
            if entry.size > MAX_FILE_FOR_JSON:
                item["content"], item["encoding"] = "", "none"
            else:
                item["content"], item["encoding"] = _wrap_b64(self.git.cat(entry.sha)), "base64"
        return item

    def _pull_json(self, ctx: _Ctx, pr: PullRequestRecord, *, full: bool) -> dict[str, Any]:
        api = f"{ctx.repo_api}/pulls/{pr.number}"
        issue = f"{ctx.repo_api}/issues/{pr.number}"
        html = f"{ctx.repo_html}/pull/{pr.number}"
        repo = self._repo_json(ctx)
        data: dict[str, Any] = {
            "url": api,
            "id": pr.id,
            "node_id": _b64(f"011:PullRequest{pr.id}"),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{ctx.repo_api}/pulls/comments{{/number}}",
            "comments_url": f"{issue}/comments",
            "statuses_url": f"{ctx.repo_api}/statuses/{pr.head_sha}",
            "number": pr.number,
            "state": pr.state,
            "locked": False,
            "title": pr.title,
            "user": self._user(ctx, pr.author),
            "body": pr.body,
            "labels": [self._label_json(ctx, name) for name in pr.labels],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": pr.created_at,
            "updated_at": pr.updated_at,
            "closed_at": pr.closed_at,
            "merged_at": pr.merged_at,
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": {
                "label": f"{ctx.owner}:{pr.head_ref}",
                "ref": pr.head_ref,
                "sha": pr.head_sha,
                "user": self._user(ctx, ctx.owner, "Organization"),
                "repo": repo,
            },
            "base": {
                "label": f"{ctx.owner}:{pr.base}",
                "ref": pr.base,
                "sha": pr.base_sha,
                "user": self._user(ctx, ctx.owner, "Organization"),
                "repo": repo,
            },
            "_links": {
                key: {"href": href}
                for key, href in {
                    "self": api,
                    "html": html,
                    "issue": issue,
                    "comments": f"{issue}/comments",
                    "review_comments": f"{api}/comments",
                    "review_comment": f"{ctx.repo_api}/pulls/comments{{/number}}",
                    "commits": f"{api}/commits",
                    "statuses": f"{ctx.repo_api}/statuses/{pr.head_sha}",
                }.items()
            },
            "author_association": "CONTRIBUTOR",
            "auto_merge": None,
            "draft": pr.draft,
        }
        if full:
            data.update(
                {
                    "merged": pr.merged_at is not None,
                    "mergeable": None,
                    "rebaseable": None,
                    "mergeable_state": "unknown",
                    "merged_by": self._user(ctx, "web-flow") if pr.merged_at else None,
                    "comments": 0,
                    "review_comments": 0,
                    "maintainer_can_modify": False,
                    "commits": max(1, len(pr.commits)),
                    "additions": 0,
                    "deletions": 0,
                    "changed_files": 0,
                }
            )
        return data

    def _label_json(self, ctx: _Ctx, name: str) -> dict[str, Any]:
        label_id = zlib.crc32(name.encode())
        return {
            "id": label_id,
            "node_id": _b64(f"05:Label{label_id}"),
            "url": f"{ctx.repo_api}/labels/{quote(name)}",
            "name": name,
            "color": f"{label_id & 0xFFFFFF:06x}",
            "default": False,
            "description": None,
            "archived_by": None,
        }

    def _release_json(self, ctx: _Ctx, rel: ReleaseRecord) -> dict[str, Any]:
        api = f"{ctx.repo_api}/releases/{rel.id}"
        return {
            "url": api,
            "html_url": f"{ctx.repo_html}/releases/tag/{quote(rel.tag_name)}",
            "assets_url": f"{api}/assets",
            "upload_url": f"{ctx.host_root}/uploads{api.removeprefix(ctx.api_root)}/assets{{?name,label}}",
            "tarball_url": f"{ctx.repo_api}/tarball/{quote(rel.tag_name)}",
            "zipball_url": f"{ctx.repo_api}/zipball/{quote(rel.tag_name)}",
            "id": rel.id,
            "node_id": _b64(f"07:Release{rel.id}"),
            "tag_name": rel.tag_name,
            "target_commitish": rel.target_commitish,
            "name": rel.name,
            "body": rel.body,
            "draft": rel.draft,
            "prerelease": rel.prerelease,
            "immutable": False,
            "created_at": rel.created_at,
            "updated_at": rel.created_at,
            "published_at": rel.published_at,
            "author": self._user(ctx, rel.author),
            "assets": [],
        }

    def _ref_json(self, ctx: _Ctx, name: str, sha: str, kind: str) -> dict[str, Any]:
        return {
            "ref": name,
            "node_id": _b64(f"03:Ref{name}"),
            "url": f"{ctx.repo_api}/git/{quote(name)}",
            "object": {"type": kind, "sha": sha, "url": f"{ctx.repo_api}/git/{kind}s/{sha}"},
        }

    # --- repository and branches ------------------------------------------------------------------

    @_route("GET", "")
    def _get_repo(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        return _Response(200, self._repo_json(ctx))

    @_route("GET", "/branches/(?P<branch>.+)")
    def _get_branch(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        branch = unquote(m["branch"])
        head = self.git.branch_head(branch)
        if head is None:
            raise _HttpError(404, "Branch not found", f"{DOCS}/branches/branches#get-a-branch")
        protected = branch in self._protected
        url = f"{ctx.repo_api}/branches/{quote(branch)}"
        return _Response(
            200,
            {
                "name": branch,
                "commit": self._commit_json(ctx, self.git.commit(head)),
                "_links": {"self": url, "html": f"{ctx.repo_html}/tree/{quote(branch)}"},
                "protected": protected,
                "protection": {
                    "enabled": protected,
                    "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
                },
                "protection_url": f"{url}/protection",
            },
        )

    # --- commits and compare ----------------------------------------------------------------------

    @_route("GET", "/commits", "contents:read")
    def _list_commits(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        ref = ctx.query.get("sha") or self.default_branch()
        doc = f"{DOCS}/commits/commits#list-commits"
        head = self.git.resolve_commit(ref)
        if head is None:
            if self.git.branch_head(self.default_branch()) is None:
                raise _HttpError(409, "Git Repository is empty.", doc)
            raise _HttpError(404, f"No commit found for SHA: {ref}", doc)
        page, per_page = _paging(ctx)
        opts: dict[str, Any] = {
            "since": ctx.query.get("since"),
            "until": ctx.query.get("until"),
            "paths": [ctx.query["path"].strip("/")] if ctx.query.get("path") else [],
        }
        total = self.git.count([head], **opts)
        shas = self.git.rev_list([head], skip=(page - 1) * per_page, limit=per_page, **opts)
        items = [self._commit_json(ctx, info) for info in self.git.commits(shas)]
        return _paged(ctx, items, page, per_page, total)

    @_route("GET", "/commits/(?P<sha>[^/]+)/pulls", "pull_requests:read")
    def _commit_pulls(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        doc = f"{DOCS}/commits/commits#list-pull-requests-associated-with-a-commit"
        sha = self._resolve(unquote(m["sha"]), f"No commit found for SHA: {unquote(m['sha'])}", doc, 422)
        pulls = sorted(self.pulls_for_commit(sha), key=lambda p: p.number)
        page, per_page = _paging(ctx)
        chunk = pulls[(page - 1) * per_page : page * per_page]
        return _paged(ctx, [self._pull_json(ctx, p, full=False) for p in chunk], page, per_page, len(pulls))

    @_route("GET", "/commits/(?P<ref>.+)", "contents:read")
    def _get_commit(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        ref = unquote(m["ref"])
        sha = self._resolve(
            ref, f"No commit found for SHA: {ref}", f"{DOCS}/commits/commits#get-a-commit", 422
        )
        info = self.git.commit(sha)
        changes = self.git.diff(info.parents[0] if info.parents else None, sha)
        return _Response(200, self._commit_json(ctx, info, changes))

    @_route("GET", "/compare/(?P<basehead>.+)", "contents:read")
    def _compare(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        basehead = unquote(m["basehead"])
        if "..." not in basehead:
            raise _HttpError(404, "Not Found", f"{DOCS}/commits/commits#compare-two-commits")
        base_ref, head_ref = basehead.split("...", 1)
        doc = f"{DOCS}/commits/commits#compare-two-commits"
        base = self._resolve(base_ref, "Not Found", doc)
        head = self._resolve(head_ref, "Not Found", doc)
        merge_base = self.git.merge_base(base, head)
        if merge_base is None:
            raise _HttpError(404, f"No common ancestor between {base_ref} and {head_ref}.", doc)
        ahead = self.git.count([head, f"^{base}"])
        behind = self.git.count([base, f"^{head}"])
        status = (
            "identical"
            if not ahead and not behind
            else "ahead"
            if not behind
            else "behind"
            if not ahead
            else "diverged"
        )
        # PyGithub documents the compare pages: 250 commits by default, at most 1000 per page
        paginated = "page" in ctx.query or "per_page" in ctx.query
        page, per_page = _paging(ctx, default=250, maximum=1000)
        shas = self.git.rev_list([head, f"^{base}"], reverse=True)
        chunk = shas[(page - 1) * per_page : page * per_page]
        data: dict[str, Any] = {
            "url": f"{ctx.repo_api}/compare/{quote(basehead)}",
            "html_url": f"{ctx.repo_html}/compare/{quote(basehead)}",
            "permalink_url": f"{ctx.repo_html}/compare/{ctx.owner}:{base[:7]}...{ctx.owner}:{head[:7]}",
            "diff_url": f"{ctx.repo_html}/compare/{quote(basehead)}.diff",
            "patch_url": f"{ctx.repo_html}/compare/{quote(basehead)}.patch",
            "base_commit": self._commit_json(ctx, self.git.commit(base)),
            "merge_base_commit": self._commit_json(ctx, self.git.commit(merge_base)),
            "status": status,
            "ahead_by": ahead,
            "behind_by": behind,
            "total_commits": ahead,
            "commits": [self._commit_json(ctx, c) for c in self.git.commits(chunk)],
        }
        if page == 1:  # the docs: changed files are only listed on the first page
            data["files"] = [self._file_json(ctx, head, c) for c in self.git.diff(merge_base, head)]
        headers = _link_header(ctx, page, per_page, len(shas)) if paginated else {}
        return _Response(200, data, headers)

    # --- pull requests ----------------------------------------------------------------------------

    @_route("GET", "/pulls", "pull_requests:read")
    def _list_pulls(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        state = ctx.query.get("state", "open")
        head = ctx.query.get("head")
        with self._lock:
            pulls = [p for p in self._pulls if state == "all" or p.state == state]
        if ctx.query.get("base"):
            pulls = [p for p in pulls if p.base == ctx.query["base"]]
        if head:
            pulls = [
                p
                for p in pulls
                if f"{ctx.owner}:{p.head_ref}".lower() == head.lower()
                or (":" not in head and p.head_ref == head)
            ]
        sort = ctx.query.get("sort", "created")
        direction = ctx.query.get("direction", "desc" if sort == "created" else "asc")
        key = {"updated": lambda p: p.updated_at}.get(sort, lambda p: (p.created_at, p.number))
        pulls.sort(key=key, reverse=direction == "desc")
        page, per_page = _paging(ctx)
        chunk = pulls[(page - 1) * per_page : page * per_page]
        return _paged(ctx, [self._pull_json(ctx, p, full=False) for p in chunk], page, per_page, len(pulls))

    @_route("GET", "/pulls/(?P<number>[0-9]+)", "pull_requests:read")
    def _get_pull(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        pr = self.find_pull(int(m["number"]))
        if pr is None:
            raise _HttpError(404, "Not Found", f"{DOCS}/pulls/pulls#get-a-pull-request")
        return _Response(200, self._pull_json(ctx, pr, full=True))

    @_route("POST", "/pulls", "pull_requests:write")
    def _create_pull(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        doc = f"{DOCS}/pulls/pulls#create-a-pull-request"
        body = ctx.json_body()
        if not self.actions_can_create_pull_requests:
            raise _HttpError(403, "GitHub Actions is not permitted to create or approve pull requests.", doc)
        for required in ("head", "base"):
            if not isinstance(body.get(required), str):
                raise _HttpError(422, f'Invalid request.\n\n"{required}" wasn\'t supplied.', doc)
        if not isinstance(body.get("title"), str) and "issue" not in body:
            raise _HttpError(422, 'Invalid request.\n\n"title" wasn\'t supplied.', doc)
        head_ref = body["head"].split(":", 1)[-1]
        base_ref = body["base"]
        head_sha = self.git.branch_head(head_ref)
        base_sha = self.git.branch_head(base_ref)
        for field_name, value in (("base", base_sha), ("head", head_sha)):
            if value is None:
                raise _HttpError(
                    422,
                    "Validation Failed",
                    doc,
                    errors=[{"resource": "PullRequest", "field": field_name, "code": "invalid"}],
                )
        assert head_sha is not None and base_sha is not None
        if not self.git.count([head_sha, f"^{base_sha}"]):
            raise _HttpError(
                422,
                "Validation Failed",
                doc,
                errors=[
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"No commits between {base_ref} and {head_ref}",
                    }
                ],
            )
        now = _now_iso()
        with self._lock:
            if any(p.state == "open" and p.head_ref == head_ref and p.base == base_ref for p in self._pulls):
                raise _HttpError(
                    422,
                    "Validation Failed",
                    doc,
                    errors=[
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {ctx.owner}:{head_ref}.",
                        }
                    ],
                )
            number = self._next_number()
            pr = PullRequestRecord(
                id=1_000_000 + number,
                number=number,
                title=body.get("title") or "",
                body=body.get("body"),
                labels=[],
                author="github-actions[bot]",
                head_ref=head_ref,
                head_sha=head_sha,
                base=base_ref,
                base_sha=base_sha,
                state="open",
                draft=bool(body.get("draft")),
                merged_at=None,
                merge_commit_sha=None,
                commits=self.git.rev_list([head_sha, f"^{base_sha}"]),
                created_at=now,
                updated_at=now,
                closed_at=None,
                created_via_api=True,
            )
            self._add_pull(pr)
        return _Response(
            201, self._pull_json(ctx, pr, full=True), {"location": f"{ctx.repo_api}/pulls/{number}"}
        )

    # --- tags and refs ----------------------------------------------------------------------------

    @_route("GET", "/tags", "contents:read")
    def _list_tags(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        tags = sorted(self.git.refs("refs/tags/"), key=lambda r: _natural(r.name), reverse=True)
        page, per_page = _paging(ctx)
        chunk = tags[(page - 1) * per_page : page * per_page]
        items = []
        for ref in chunk:
            name = ref.name.removeprefix("refs/tags/")
            items.append(
                {
                    "name": name,
                    "zipball_url": f"{ctx.repo_api}/zipball/refs/tags/{quote(name)}",
                    "tarball_url": f"{ctx.repo_api}/tarball/refs/tags/{quote(name)}",
                    "commit": {"sha": ref.peeled, "url": f"{ctx.repo_api}/commits/{ref.peeled}"},
                    "node_id": _b64(f"03:Ref{ref.name}"),
                }
            )
        return _paged(ctx, items, page, per_page, len(tags))

    @_route("GET", "/git/ref/(?P<ref>.+)", "contents:read")
    def _get_ref(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        name = "refs/" + unquote(m["ref"])
        found = [r for r in self.git.refs(name) if r.name == name]
        if not found:
            raise _HttpError(404, "Not Found", f"{DOCS}/git/refs#get-a-reference")
        return _Response(200, self._ref_json(ctx, name, found[0].sha, found[0].type))

    @_route("GET", "/git/matching-refs/(?P<ref>.*)", "contents:read")
    def _matching_refs(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        prefix = "refs/" + unquote(m["ref"])
        refs = [r for r in self.git.refs("refs/") if r.name.startswith(prefix)]
        page, per_page = _paging(ctx)
        chunk = refs[(page - 1) * per_page : page * per_page]
        return _paged(
            ctx, [self._ref_json(ctx, r.name, r.sha, r.type) for r in chunk], page, per_page, len(refs)
        )

    @_route("POST", "/git/refs", "contents:write")
    def _create_ref(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        doc = f"{DOCS}/git/refs#create-a-reference"
        body = ctx.json_body()
        name, sha = body.get("ref"), body.get("sha")
        if not isinstance(name, str) or not isinstance(sha, str):
            missing = "ref" if not isinstance(name, str) else "sha"
            raise _HttpError(422, f'Invalid request.\n\n"{missing}" wasn\'t supplied.', doc)
        if not name.startswith("refs/") or name.count("/") < 2:
            raise _HttpError(422, f"{name} is not a valid ref name.", doc)
        target = self.git.object_info(sha) if re.fullmatch(r"[0-9a-fA-F]{40}", sha) else None
        if target is None:
            raise _HttpError(422, "Object does not exist", doc)
        with self._ref_lock:
            if not self.git.update_ref(name, target[0], None):
                raise _HttpError(422, "Reference already exists", doc)
        return _Response(
            201,
            self._ref_json(ctx, name, target[0], target[1]),
            {"location": f"{ctx.repo_api}/git/{quote(name)}"},
        )

    @_route("PATCH", "/git/refs/(?P<ref>.+)", "contents:write")
    def _update_ref(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        """Update a reference: fast-forward only, unless `force` (a rewind or a jump elsewhere)."""
        doc = f"{DOCS}/git/refs#update-a-reference"
        name = "refs/" + unquote(m["ref"])
        body = ctx.json_body()
        sha, force = body.get("sha"), body.get("force", False)
        if not isinstance(sha, str):
            raise _HttpError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.', doc)
        target = self.git.object_info(sha) if re.fullmatch(r"[0-9a-fA-F]{40}", sha) else None
        if target is None:
            raise _HttpError(422, "Object does not exist", doc)
        if name.removeprefix("refs/heads/") in self._protected:
            raise _HttpError(422, RULESET_PR_REQUIRED, doc)
        with self._ref_lock:
            current = self.git.ref_sha(name)
            if current is None:
                raise _HttpError(422, "Reference does not exist", doc)
            fast_forward = self.git.run_ok("merge-base", "--is-ancestor", current, target[0])
            if not force and not fast_forward:
                raise _HttpError(422, "Update is not a fast forward", doc)
            if not self.git.update_ref(name, target[0], current):
                raise _HttpError(422, "Reference cannot be updated", doc)
        return _Response(200, self._ref_json(ctx, name, target[0], target[1]))

    # --- contents ---------------------------------------------------------------------------------

    @_route("GET", "/contents/?(?P<path>.*)", "contents:read")
    def _get_contents(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        doc = f"{DOCS}/repos/contents#get-repository-content"
        path = unquote(m["path"]).strip("/")
        ref = ctx.query.get("ref") or self.default_branch()
        commit = self._resolve(ref, f"No commit found for the ref {ref}", doc)
        if path:
            entries = [e for e in self.git.ls_tree(commit, path, children=False) if e.path == path]
            if not entries:
                raise _HttpError(404, "Not Found", doc)
            entry = entries[0]
        else:
            entry = TreeEntry("040000", "tree", "", -1, "")
        if entry.type == "tree":
            listing = self.git.ls_tree(commit, path, children=True)
            return _Response(200, [self._content_json(ctx, ref, e, with_data=False) for e in listing])
        accept = ctx.headers.get("accept", "")
        if "application/vnd.github.raw" in accept or "application/vnd.github.v3.raw" in accept:
            return _Response(
                200,
                raw=self.git.cat(entry.sha),
                headers={"content-type": "application/vnd.github.raw; charset=utf-8"},
            )
        return _Response(
            200, self._content_json(ctx, ref, entry, with_data=True), {"etag": f'W/"{entry.sha}"'}
        )

    @_route("PUT", "/contents/(?P<path>.+)", "contents:write")
    def _put_contents(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        doc = f"{DOCS}/repos/contents#create-or-update-file-contents"
        path = unquote(m["path"]).strip("/")
        body = ctx.json_body()
        for required in ("message", "content"):
            if not isinstance(body.get(required), str):
                raise _HttpError(422, f'Invalid request.\n\n"{required}" wasn\'t supplied.', doc)
        try:
            data = base64.b64decode(body["content"])
        except (binascii.Error, ValueError):
            raise _HttpError(422, "content is not valid Base64", doc) from None
        branch = body.get("branch") or self.default_branch()
        if branch in self._protected:
            raise _HttpError(409, RULESET_PR_REQUIRED, doc)
        head = self.git.branch_head(branch)
        if head is None and not (branch == self.default_branch() and not self.git.refs("refs/heads/")):
            raise _HttpError(404, f"Branch {branch} not found", doc)
        entries = [e for e in self.git.ls_tree(head, path, children=False) if e.path == path] if head else []
        existing = entries[0] if entries else None
        sha = body.get("sha")
        if existing is not None and existing.type == "tree":
            raise _HttpError(422, f"Invalid request.\n\n{path} is a directory.", doc)
        if existing is not None and not sha:
            raise _HttpError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.', doc)
        if sha and (existing is None or sha != existing.sha):
            raise _HttpError(409, f"{path} does not match {sha}", doc)
        now = int(time.time())
        committer = _identity(body.get("committer"), replace(WEB_FLOW, epoch=now), doc)
        default_author = committer if body.get("committer") else replace(ACTIONS_BOT, epoch=now)
        author = _identity(body.get("author"), default_author, doc)
        new_commit = self.git.commit_file(
            parent=head,
            path=path,
            data=data,
            mode=existing.mode if existing else "100644",
            message=body["message"],
            author=author,
            committer=committer,
        )
        if self._take_fault(ctx, conflict=True) is not None:
            self._interlope(branch, path)
        with self._ref_lock:
            moved = self.git.update_ref(f"refs/heads/{branch}", new_commit, head)
        if not moved:
            current = self.git.branch_head(branch) or "0" * 40
            raise _HttpError(409, f"is at {current} but expected {head or '0' * 40}", doc)
        info = self.git.commit(new_commit)
        blob = self.git.ls_tree(new_commit, path, children=False)[0]
        content = self._content_json(ctx, branch, blob, with_data=False)
        commit = {
            "sha": info.sha,
            "node_id": _b64(f"06:Commit{info.sha}"),
            "url": f"{ctx.repo_api}/git/commits/{info.sha}",
            "html_url": f"{ctx.repo_html}/commit/{info.sha}",
            "author": _person(info.author),
            "committer": _person(info.committer),
            "message": info.message,
            "tree": {"url": f"{ctx.repo_api}/git/trees/{info.tree}", "sha": info.tree},
            "parents": [
                {
                    "url": f"{ctx.repo_api}/git/commits/{p}",
                    "html_url": f"{ctx.repo_html}/commit/{p}",
                    "sha": p,
                }
                for p in info.parents
            ],
            "verification": _unsigned(),
        }
        return _Response(200 if existing else 201, {"content": content, "commit": commit})

    def _interlope(self, branch: str, path: str) -> None:
        """Another writer lands a commit on `path` first (the `conflict` fault)."""
        with self._lock:
            self._interlopes += 1
            n = self._interlopes
        while True:
            head = self.git.branch_head(branch)
            entries = (
                [e for e in self.git.ls_tree(head, path, children=False) if e.path == path] if head else []
            )
            old = self.git.cat(entries[0].sha) if entries else b""
            other = Identity(
                "Concurrent Writer", "concurrent-writer@users.noreply.github.com", int(time.time())
            )
            commit = self.git.commit_file(
                parent=head,
                path=path,
                data=old + f"\n<!-- concurrent edit {n} -->\n".encode(),
                mode=entries[0].mode if entries else "100644",
                message=f"Concurrent edit {n} of {path}",
                author=other,
                committer=replace(WEB_FLOW, epoch=other.epoch),
            )
            with self._ref_lock:
                if self.git.update_ref(f"refs/heads/{branch}", commit, head):
                    return

    def _raw_download(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        if self.canonical_name(unquote(m["owner"]), unquote(m["repo"])) is None or ctx.token is None:
            raise _HttpError(404, "Not Found", DOCS)
        parts = unquote(m["rest"]).split("/")
        for cut in range(1, len(parts)):
            commit = self.git.resolve_commit("/".join(parts[:cut]))
            path = "/".join(parts[cut:])
            if commit is None:
                continue
            entries = [e for e in self.git.ls_tree(commit, path, children=False) if e.path == path]
            if entries and entries[0].type == "blob":
                return _Response(
                    200,
                    raw=self.git.cat(entries[0].sha),
                    headers={"content-type": "text/plain; charset=utf-8"},
                )
        raise _HttpError(404, "Not Found", DOCS)

    # --- releases ---------------------------------------------------------------------------------

    @_route("GET", "/releases", "contents:read")
    def _list_releases(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        with self._lock:
            releases = sorted(self._releases, key=lambda r: (r.created_at, r.id), reverse=True)
        page, per_page = _paging(ctx)
        chunk = releases[(page - 1) * per_page : page * per_page]
        return _paged(ctx, [self._release_json(ctx, r) for r in chunk], page, per_page, len(releases))

    @_route("GET", "/releases/latest", "contents:read")
    def _latest_release(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        with self._lock:
            published = [r for r in self._releases if not r.draft and not r.prerelease]
        if not published:
            raise _HttpError(404, "Not Found", f"{DOCS}/releases/releases#get-the-latest-release")
        return _Response(200, self._release_json(ctx, max(published, key=lambda r: (r.created_at, r.id))))

    @_route("GET", "/releases/tags/(?P<tag>.+)", "contents:read")
    def _release_by_tag(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        tag = unquote(m["tag"])
        with self._lock:
            found = [r for r in self._releases if r.tag_name == tag and not r.draft]
        if not found:
            raise _HttpError(404, "Not Found", f"{DOCS}/releases/releases#get-a-release-by-tag-name")
        return _Response(200, self._release_json(ctx, found[0]))

    @_route("GET", "/releases/(?P<id>[0-9]+)", "contents:read")
    def _get_release(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        return _Response(200, self._release_json(ctx, self._release(int(m["id"]))))

    @_route("PATCH", "/releases/(?P<id>[0-9]+)", "contents:write")
    def _update_release(self, ctx: _Ctx, m: re.Match[str]) -> _Response:
        doc = f"{DOCS}/releases/releases#update-a-release"
        body = ctx.json_body()
        rel = self._release(int(m["id"]))
        text = body.get("body")
        if isinstance(text, str) and len(text) > MAX_RELEASE_BODY:
            raise _HttpError(
                422,
                "Validation Failed",
                doc,
                errors=[
                    {
                        "resource": "Release",
                        "code": "custom",
                        "field": "body",
                        "message": f"body is too long (maximum is {MAX_RELEASE_BODY} characters)",
                    }
                ],
            )
        with self._lock:
            for key in ("body", "name", "tag_name", "target_commitish"):
                if isinstance(body.get(key), str):
                    setattr(rel, key, body[key])
            for key in ("draft", "prerelease"):
                if isinstance(body.get(key), bool):
                    setattr(rel, key, body[key])
            if not rel.draft and rel.published_at is None:
                rel.published_at = _now_iso()
        return _Response(200, self._release_json(ctx, rel))

    def _release(self, release_id: int) -> ReleaseRecord:
        with self._lock:
            for rel in self._releases:
                if rel.id == release_id:
                    return rel
        raise _HttpError(404, "Not Found", f"{DOCS}/releases/releases#get-a-release")


# --- module helpers --------------------------------------------------------------------------------


def _error_response(err: _HttpError) -> _Response:
    payload: dict[str, Any] = {"message": err.message}
    if err.errors is not None:
        payload["errors"] = err.errors
    payload["documentation_url"] = err.doc or DOCS
    payload["status"] = str(err.status)
    return _Response(err.status, payload, dict(err.headers))


def _paging(ctx: _Ctx, default: int = 30, maximum: int = 100) -> tuple[int, int]:
    def number(key: str, fallback: int) -> int:
        try:
            return max(1, int(ctx.query.get(key, fallback)))
        except ValueError:
            return fallback

    return number("page", 1), min(number("per_page", default), maximum)


def _link_header(ctx: _Ctx, page: int, per_page: int, total: int) -> dict[str, str]:
    last = max(1, -(-total // per_page))
    rels = []
    if page > 1:
        rels.append(("prev", page - 1))
    if page < last:
        rels.extend([("next", page + 1), ("last", last)])
    if page > 1:
        rels.append(("first", 1))
    if not rels:
        return {}
    links = []
    for rel, number in rels:
        query = {**ctx.query, "page": str(number)}
        links.append(f'<{ctx.host_root}{ctx.raw_path}?{urlencode(query)}>; rel="{rel}"')
    return {"link": ", ".join(links)}


def _paged(ctx: _Ctx, items: list[Any], page: int, per_page: int, total: int) -> _Response:
    return _Response(200, items, _link_header(ctx, page, per_page, total))


def _person(who: Identity) -> dict[str, str]:
    return {"name": who.name, "email": who.email, "date": who.iso}


def _unsigned() -> dict[str, Any]:
    return {"verified": False, "reason": "unsigned", "signature": None, "payload": None, "verified_at": None}


def _identity(given: Any, default: Identity, doc: str) -> Identity:
    if given is None:
        return default
    if not isinstance(given, dict):
        raise _HttpError(422, "Invalid request.\n\nFor 'properties/author', it is not an object.", doc)
    for key in ("name", "email"):
        if not isinstance(given.get(key), str):
            raise _HttpError(422, f'Invalid request.\n\n"{key}" wasn\'t supplied.', doc)
    epoch = default.epoch
    if isinstance(given.get("date"), str):
        try:
            epoch = int(datetime.fromisoformat(given["date"].replace("Z", "+00:00")).timestamp())
        except ValueError:
            raise _HttpError(422, 'Invalid request.\n\n"date" is not a valid date-time.', doc) from None
    return Identity(given["name"], given["email"], epoch)


def _wrap_b64(data: bytes) -> str:
    """Base64 in 60-character lines, each ending in a newline, as the Contents API sends it."""
    text = base64.b64encode(data).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


def _natural(name: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode().rstrip("=")


def _request_id() -> str:
    raw = uuid.uuid4().hex.upper()
    return f"{raw[:4]}:{raw[4:8]}:{raw[8:15]}:{raw[15:22]}:{raw[22:30]}"


def _now_iso() -> str:
    return iso_utc(int(time.time()))


def _take_connection_fault(emulator: GitHubEmulator, method: str, target: str) -> Fault | None:
    """The first live connection fault matching this request (path as Fault.path sees it)."""
    path = urlsplit(target).path
    if path.startswith("/api/v3/"):
        path = path.removeprefix("/api/v3")
    with emulator._lock:
        for fault in emulator._faults:
            if fault.kind not in CONNECTION_FAULTS or fault.spent or not fault.matches(method, path):
                continue
            fault.seen += 1
            if fault.seen > fault.after:
                fault.fired += 1
                return fault
    return None


def _record_unanswered(emulator: GitHubEmulator, method: str, target: str, headers: dict[str, str]) -> None:
    """A request the connection fault left unanswered is still recorded, with status 0."""
    split = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
    safe = {k: ("***" if k.lower() == "authorization" else v) for k, v in headers.items()}
    with emulator._lock:
        emulator._requests.append(RecordedRequest(method, split.path, query, 0, safe, b""))


def _break_connection(handler: _RequestHandler, kind: str) -> None:
    """End the connection the way `kind` says, answering nothing more."""
    handler.close_connection = True
    conn = handler.connection
    if kind == "reset":
        # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
        return
    if kind == "die":
        server = handler.server
        with contextlib.suppress(OSError):
            server.socket.shutdown(socket.SHUT_RDWR)  # from now on the port refuses connections

        def stop() -> None:
            server.shutdown()
            server.server_close()

        threading.Thread(target=stop, daemon=True).start()
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


# --- HTTP plumbing ---------------------------------------------------------------------------------


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""
    timeout = 30
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        fault = _take_connection_fault(self.server.emulator, self.command, self.path)
        if fault is not None and fault.kind in ("drop", "reset", "die"):
            _record_unanswered(self.server.emulator, self.command, self.path, headers)
            _break_connection(self, fault.kind)
            return
        response = self.server.emulator._handle(self.command, self.path, headers, body)
        if fault is not None and fault.kind == "lost_answer":
            _break_connection(self, "drop")
            return
        if response.raw is not None:
            payload = response.raw
        elif response.payload is None:
            payload = b""
        else:
            payload = json.dumps(response.payload).encode()
            response.headers.setdefault("content-type", "application/json; charset=utf-8")
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        if fault is not None and fault.kind == "truncate":
            self.wfile.write(payload[: len(payload) // 2])
            _break_connection(self, "drop")
            return
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the emulator records requests itself
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: GitHubEmulator) -> None:
        super().__init__(address, _RequestHandler)
        self.emulator = emulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # the client gave up waiting (a read timeout): nothing to report
        super().handle_error(request, client_address)


# --- command line ----------------------------------------------------------------------------------


def _git_dir(repo: Path) -> Path:
    return repo / ".git" if (repo / ".git").is_dir() else repo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.github_server",
        description="Serve a git repository through an emulated GitHub API.",
    )
    parser.add_argument(
        "--repo", type=Path, required=True, help="bare repository, or a clone (its .git is served)"
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument(
        "--token",
        action="append",
        help="accepted token, with every permission (repeatable; default: test-token)",
    )
    args = parser.parse_args(argv)
    tokens = {
        t: {"contents:write", "pull_requests:write", "models:read"} for t in args.token or ["test-token"]
    }
    emu = GitHubEmulator(_git_dir(args.repo), owner=None, name=None, tokens=tokens, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with emu:
        print(emu.base_url, flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
