"""The one PyGithub client both GitHub backends share, and the translation of its errors into ours.

Retries live here, in the client: 5xx, 429 and rate limits are retried by urllib3 through PyGithub's
`GithubRetry`, capped in count and in wait, honouring Retry-After and x-ratelimit-reset. GraphQL's 502
and 504 are not retried as they are: they mean the query timed out, and the same query times out again
(release-please#2679), so the collector asks again for a smaller page instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import github
from github.GithubException import GithubException, RateLimitExceededExceedsMaxWait
from github.GithubRetry import GithubRetry

from patchpush.errors import CollectError, PatchPushError

USER_AGENT = "patch-push"
MAX_RETRIES = 4
# Longest we wait for one rate-limit reset or Retry-After before giving up with a clear error.
MAX_WAIT_S = 60.0
# A GraphQL query that ran too long: GitHub answers 502/504, or 200 with this error.
QUERY_TIMEOUT_STATUSES = (502, 504)
QUERY_TIMEOUT_MESSAGE = "Something went wrong while executing your query"


class _BoundedRetry(GithubRetry):
    """GithubRetry that also retries 429 and never sleeps longer than MAX_WAIT_S for a Retry-After."""

    def get_retry_after(self, response: Any) -> float | None:
        wait: float | None = super().get_retry_after(response)
        if wait is not None and wait > self.max_rate_limit_wait_s:
            raise RateLimitExceededExceedsMaxWait(response.status, {}, dict(response.headers), wait=wait)
        return wait

    @property
    def max_rate_limit_wait_s(self) -> float:
        return self.max_rate_limit_wait if self.max_rate_limit_wait is not None else MAX_WAIT_S


@dataclass(frozen=True)
class GitHubClient:
    """A connected client for one repository and branch. Building it makes no request."""

    gh: github.Github
    repository: str
    branch: str
    server_url: str
    # The same connection without retries on 502/504, for GraphQL (see the module's docstring).
    graphql_gh: github.Github | None = None

    @property
    def web_url(self) -> str:
        return f"{self.server_url}/{self.repository}"

    def repo(self) -> Any:
        return self.gh.get_repo(self.repository, lazy=True)

    def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        _, data = (self.graphql_gh or self.gh).requester.graphql_query(query, variables)
        result: dict[str, Any] = data["data"]
        return result


def _github(token: str, api_url: str, *, timeouts_retried: bool) -> github.Github:
    statuses = [429, 500, 503] + (list(QUERY_TIMEOUT_STATUSES) if timeouts_retried else [])
    retry = _BoundedRetry(
        total=MAX_RETRIES,
        backoff_factor=0.5,
        status_forcelist=statuses,
        # After the last retry, hand back GitHub's own answer so the error can quote it.
        raise_on_status=False,
        secondary_rate_wait=MAX_WAIT_S,
        max_rate_limit_wait=MAX_WAIT_S,
    )
    return github.Github(
        auth=github.Auth.Token(token),
        base_url=api_url,
        user_agent=USER_AGENT,
        retry=retry,
        timeout=30,
        # One run makes a handful of requests; PyGithub's default 0.25 s spacing would only add wall time.
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


def connect(*, token: str, api_url: str, repository: str, branch: str, server_url: str) -> GitHubClient:
    gh = _github(token, api_url, timeouts_retried=True)
    if not branch:
        branch = _default_branch(gh, repository)
    return GitHubClient(
        gh=gh,
        repository=repository,
        branch=branch,
        server_url=server_url,
        graphql_gh=_github(token, api_url, timeouts_retried=False),
    )


def default_branch(*, token: str, api_url: str, repository: str) -> str:
    """The repository's default branch (one request), for when the event payload could not name it.
    Ask it once and pass it to `connect`: each client would otherwise ask again."""
    return _default_branch(_github(token, api_url, timeouts_retried=True), repository)


def _default_branch(gh: github.Github, repository: str) -> str:
    try:
        return str(gh.get_repo(repository).default_branch)
    except Exception as exc:
        raise translate(exc, doing=f"reading the default branch of {repository}", error=CollectError) from exc


def is_query_timeout(exc: GithubException) -> bool:
    """GitHub gave up on a GraphQL query that ran too long (a smaller page may pass)."""
    return exc.status in QUERY_TIMEOUT_STATUSES or QUERY_TIMEOUT_MESSAGE in error_message(exc)


def translate(exc: Exception, *, doing: str, error: type[PatchPushError]) -> PatchPushError:
    """A PyGithub or transport exception as a one-line error naming the object and what to do."""
    if isinstance(exc, GithubException) and _rate_limited(exc):
        reset = _reset_time(exc)
        return error(
            f"GitHub API rate limit exhausted while {doing}"
            + (f"; it resets at {reset}" if reset else "; GitHub did not say when it resets"),
            "run again after the reset, or use a token with a higher limit",
        )
    if isinstance(exc, GithubException):
        status, message = exc.status, error_message(exc)
        if status == 401:
            return error(
                f"GitHub rejected the token while {doing} (401 {message})",
                "pass `github-token: ${{ github.token }}` or a valid token",
            )
        if status == 403 and "not accessible by integration" in message.lower():
            return error(
                f"the token may not do this: {doing} (403 {message})",
                "add `permissions: contents: write` to the workflow job"
                " (and `pull-requests: write` for protected branches)",
            )
        if status == 404:
            return error(
                f"not found while {doing} (404 {message})",
                "check the `branch` input and that the token can see the repository",
            )
        if status >= 500:
            return error(
                f"GitHub kept failing while {doing} ({status} {message}) after {MAX_RETRIES} retries",
                "GitHub may be having an incident; run again later",
            )
        return error(f"GitHub answered {status} while {doing}: {message}")
    return error(
        f"cannot reach GitHub while {doing} ({_transport_reason(exc)})",
        "check GITHUB_API_URL and the network; notes generated before this are in the job summary",
    )


_ERRNO = re.compile(r"\[Errno -?\d+\] (?P<reason>[^\"')\]]+)")


def _transport_reason(exc: BaseException) -> str:
    """What went wrong on the wire, in a few words: urllib3's nested repr of the pool and the URL says
    nothing a user can act on, and would be cut off in the annotation."""
    text = str(exc)
    if match := _ERRNO.search(text):
        return match.group("reason").strip().lower()
    lowered = text.lower()
    if "timed out" in lowered or "timeout" in type(exc).__name__.lower():
        return "timed out"
    if "incompleteread" in lowered or "chunkedencoding" in type(exc).__name__.lower():
        return "the answer was cut off"
    if "remotedisconnected" in lowered or "connection aborted" in lowered:
        return "the connection was closed"
    return type(exc).__name__


def error_message(exc: GithubException, *, whole: bool = False) -> str:
    """GitHub's message for a failed request: its first line for people, or `whole` for matching
    (a ruleset's "Repository rule violations found\n\nChanges must be made through a pull request")."""
    data = exc.data
    if isinstance(data, dict):
        errors = data.get("errors")
        if not data.get("message") and isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message", ""))  # GraphQL reports errors in a list
        message = str(data.get("message", ""))
        return message if whole else message.split("\n")[0]
    return str(data or "")


def _rate_limited(exc: GithubException) -> bool:
    """GitHub's answers to a spent rate limit: REST's 403/429 (x-ratelimit-remaining: 0, or its message),
    and GraphQL's HTTP 200 whose error has type RATE_LIMITED (PyGithub raises it as a 400)."""
    if isinstance(exc, RateLimitExceededExceedsMaxWait):
        return True
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    if exc.status in (403, 429) and (
        headers.get("x-ratelimit-remaining") == "0" or "rate limit" in error_message(exc).lower()
    ):
        return True
    errors = exc.data.get("errors") if isinstance(exc.data, dict) else None
    return isinstance(errors, list) and any(
        isinstance(e, dict) and str(e.get("type", "")).upper() in ("RATE_LIMITED", "RATE_LIMIT")
        for e in errors
    )


def _reset_time(exc: GithubException) -> str | None:
    """When the limit lifts: x-ratelimit-reset for a spent primary limit, else the Retry-After wait."""
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    value = str(headers.get("x-ratelimit-reset", ""))
    wait = exc.wait if isinstance(exc, RateLimitExceededExceedsMaxWait) else None
    retry_after = str(headers.get("retry-after", ""))
    if retry_after.isdigit():
        wait = float(retry_after)
    if value.isdigit() and (wait is None or headers.get("x-ratelimit-remaining") == "0"):
        return datetime.fromtimestamp(int(value), UTC).strftime("%H:%M:%S UTC")
    if wait is not None:
        return (datetime.now(UTC) + timedelta(seconds=wait)).strftime("%H:%M:%S UTC")
    return None
