"""Collect through the GitHub API, no checkout needed: GraphQL history pages of 100 commits, each
commit with its pull requests, so a range of N commits costs about N/100 requests, never N.

The commits it hands to `choose()` are the ones the git collector hands it for the same history: the
range is `base..head` (collect/history_walk.py), every parent is listed (octopus merges), the date is the
author's, and a commit belongs to the pull request its message names, as on a clone. The API adds what
only GitHub knows about that pull request: its title, body, labels and author.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta
from typing import Any

from github.GithubException import GithubException

from patchpush.collect import RangeRequest, selection
from patchpush.collect.conventional import OWN_TRAILER, is_excluded_author, is_own_commit, paths_selected
from patchpush.collect.github_commit import commit_change, commit_parents
from patchpush.collect.history_walk import HistoryWalk
from patchpush.errors import CollectError
from patchpush.github_client import (
    QUERY_TIMEOUT_STATUSES,
    GitHubClient,
    error_message,
    is_query_timeout,
    translate,
)
from patchpush.models import Change, ChangeSet

# History page sizes: GitHub's maximum first; a query that times out is asked again for fewer commits
# (release-please#2679), and the smaller size is kept for the rest of the range.
PAGE_SIZES = (100, 50, 25, 10)
# A commit can be associated with several pull requests (open ones, others against other bases); asking
# for one picks an unrelated PR (release-drafter#1354).
PULLS_PER_COMMIT = 10
_NO_PULLS = (
    "the token may not read pull requests, so the notes use commit messages only; "
    "add `pull-requests: read` to the job's permissions for pull request titles, bodies and labels"
)
_COMMIT = """
  oid message committedDate
  author { name email date user { login } }
  parents(first: 100) { nodes { oid } }
  associatedPullRequests(first: __PULLS__) @include(if: $withPulls) {
    nodes {
      number title body merged baseRefName mergeCommit { oid }
      author { __typename login }
      labels(first: 20) { nodes { name } }
    }
  }
""".replace("__PULLS__", str(PULLS_PER_COMMIT))
_QUERY = """
query($owner: String!, $name: String!, $head: String!, $after: String, $since: GitTimestamp,
      $first: Int!, $base: String!, $hasBase: Boolean!, $withTags: Boolean!, $withPulls: Boolean!) {
  repository(owner: $owner, name: $name) {
    url
    base: object(expression: $base) @include(if: $hasBase) {
      oid ... on Commit { committedDate } ... on Tag { target { oid ... on Commit { committedDate } } }
    }
    tags: refs(refPrefix: "refs/tags/", first: 100, orderBy: {field: TAG_COMMIT_DATE, direction: DESC})
        @include(if: $withTags) {
      nodes { name target { oid ... on Tag { target { oid } } } }
    }
    # An annotated tag (`until: v1.2.0`) names a Tag object: its history is its commit's.
    head: object(expression: $head) { ...history ... on Tag { target { ...history } } }
  }
}
fragment history on Commit {
  oid
  history(first: $first, after: $after, since: $since) {
    pageInfo { hasNextPage endCursor }
    nodes { __COMMIT_FIELDS__ }
  }
}
""".replace("__COMMIT_FIELDS__", _COMMIT)


class GitHubApiSource:
    """`ChangeSource` over the GitHub GraphQL API."""

    def __init__(self, *, client: GitHubClient) -> None:
        self._client = client

    def changes(self, request: RangeRequest) -> ChangeSet:
        owner, name = self._client.repository.split("/", 1)
        head_expr = request.until or request.branch or "HEAD"
        base_expr = request.since.ref if request.since.kind == "ref" and request.since.ref else ""
        auto = request.since.kind == "auto"
        variables: dict[str, Any] = {
            "owner": owner,
            "name": name,
            "head": head_expr,
            "after": None,
            "since": request.since.date.isoformat()
            if request.since.kind == "date" and request.since.date
            else None,
            "first": PAGE_SIZES[0],
            "base": base_expr,
            "hasBase": bool(base_expr),
            "withTags": True,
            "withPulls": True,
        }
        if auto and request.last_described:
            variables.update(base=request.last_described, hasBase=True)
        nodes: dict[str, dict[str, Any]] = {}
        walk = HistoryWalk()
        tag_targets: set[str] = set()
        head = ""
        head_tag: str | None = None
        warnings: list[str] = []
        base_date: datetime | None = None
        base_reader: _BaseHistory | None = None
        oldest: datetime | None = None  # the oldest commit the head's history listed so far
        while True:
            repository = self._page(variables, head_expr)
            if not variables["withPulls"] and not warnings:
                warnings.append(_NO_PULLS)
            if variables["withTags"]:
                tags = _tag_targets(repository.get("tags"))
                head = repository["head"]["oid"]
                head_tag = _tag_at(tags, head)
                # As the git collector: a tag on the head is this release, so the base is the one before.
                tag_targets = {oid for _, oid in tags if oid != head}
                found = repository.get("base")
                if base_expr and not found:
                    raise CollectError(
                        f"input 'since' names '{base_expr}', which is not a commit, tag or branch in "
                        f"{self._client.repository}",
                        "check the name",
                    )
                if found:
                    walk = HistoryWalk(base=found["oid"])
                    base_date = _when(found.get("committedDate"))
                elif auto:
                    # No last described commit, or one this repository no longer has: the newest tag.
                    walk = HistoryWalk(tags=tag_targets)
                variables.update(withTags=False, hasBase=False)
            history = repository["head"]["history"]
            for node in history["nodes"]:
                nodes[node["oid"]] = node
                walk.add(node["oid"], commit_parents(node))
                oldest = min(filter(None, (oldest, _when(node.get("committedDate")))), default=None)
                if walk.done or walk.candidates > request.max_commits:
                    break
            more = bool(history["pageInfo"]["hasNextPage"])
            beside = not walk.seen_base and not walk.done
            if base_date and oldest and beside and (oldest < base_date - _SKEW or not more):
                # The head's history went past the base's date (or ended) without listing it: the base
                # is no ancestor of the head (a tag on a release branch, a rewritten history).
                if auto:
                    # As the git collector: the last described commit is ignored, the newest tag rules.
                    walk, base_date = _replay(walk, HistoryWalk(tags=tag_targets)), None
                else:
                    # `git log base..head` leaves out the base's ancestors: read them from its own history.
                    base_reader = base_reader or _BaseHistory(self, dict(variables), walk.base or "")
            if base_reader is not None and oldest is not None:
                base_reader.catch_up(walk, oldest, head_expr)
            if walk.done or walk.candidates > request.max_commits or not more:
                break
            variables["after"] = history["pageInfo"]["endCursor"]
        if auto and request.last_described and not walk.seen_base and not walk.done:
            # The last described commit is not in this history (it was rewritten): as the git collector
            # does, fall back to the newest tag, over the history already read (all of it).
            walk = _replay(walk, HistoryWalk(tags=tag_targets))
        in_range = walk.in_range()
        truncated = len(in_range) > request.max_commits
        branch = request.branch or self._client.branch
        changes = [commit_change(nodes[sha], branch=branch) for sha in in_range[: request.max_commits]]
        changes = self._with_files(changes, request)
        touching = None
        if request.include_paths or request.exclude_paths:
            # As the git collector: the commits (not merges) that change a wanted path; a PR keeps its
            # item when any of its commits does.
            touching = {
                c.sha
                for c in changes
                if len(c.parents) < 2
                and paths_selected(c.files, request.include_paths, request.exclude_paths)
            }
        chosen = selection.choose(changes, request, touching=touching)
        base = walk.base if base_expr or walk.done or walk.seen_base else None
        first_timers = self.new_contributors(changes, request, base=base, head=head)
        return ChangeSet(
            repository=self._client.repository,
            head=head,
            base=base,
            changes=chosen.changes,
            web_url=self._client.web_url,
            head_tag=head_tag,
            truncated=truncated,
            excluded=len(chosen.left_out),
            newest=chosen.newest,
            warnings=tuple(warnings),
            left_out=chosen.left_out,
            new_contributors=first_timers,
        )

    def _page(self, variables: dict[str, Any], head_expr: str) -> dict[str, Any]:
        """One history page; a page that times out is asked again smaller, down to PAGE_SIZES[-1]."""
        while True:
            try:
                return self._query(variables, head_expr)
            except GithubException as exc:
                if not is_query_timeout(exc):
                    raise translate(
                        exc, doing=self._doing(head_expr, variables["first"]), error=CollectError
                    ) from exc
                smaller = [size for size in PAGE_SIZES if size < variables["first"]]
                if not smaller:
                    # PyGithub calls GraphQL's HTTP 200 error answer a 400: quote only GitHub's status.
                    said = error_message(exc)
                    said = f"{exc.status} {said}" if exc.status in QUERY_TIMEOUT_STATUSES else said
                    raise CollectError(
                        f"GitHub timed out reading the history of {self._client.repository}@{head_expr}, "
                        f"even {variables['first']} commits a page ({said})",
                        "run again later, or narrow the range with `since`",
                    ) from exc
                variables["first"] = smaller[0]

    def _doing(self, head_expr: str, page: int) -> str:
        what = f"reading the history of {self._client.repository}@{head_expr}"
        return what if page == PAGE_SIZES[0] else f"{what} ({page} commits a page)"

    def _query(self, variables: dict[str, Any], head_expr: str) -> dict[str, Any]:
        """Raises GithubException for what `_page` may retry smaller; every other failure as ours."""
        what = self._doing(head_expr, variables["first"])
        try:
            data = self._client.graphql(_QUERY, variables)
        except GithubException as exc:
            if variables["withPulls"] and _forbidden(exc):
                # A token without `pull-requests: read` may still read the history: describe the
                # commits without their pull requests rather than fail (a warning says what to add).
                variables["withPulls"] = False
                return self._query(variables, head_expr)
            if exc.status in (400, 404) and "Could not resolve" in str(exc.data):
                raise CollectError(
                    f"cannot find {self._client.repository}", "check the repository name"
                ) from exc
            raise
        except Exception as exc:  # transport errors from requests/urllib3
            raise translate(exc, doing=what, error=CollectError) from exc
        repository = data.get("repository")
        if repository and repository.get("head") and "history" not in repository["head"]:
            repository = {**repository, "head": repository["head"].get("target") or {}}
        if repository and repository.get("base"):
            base = repository["base"]
            repository = {**repository, "base": base.get("target") or base}
        if not repository or not repository.get("head") or "history" not in repository["head"]:
            raise CollectError(
                f"'{head_expr}' is not a branch, tag or commit in {self._client.repository}",
                "check the `branch` and `until` inputs",
            )
        return dict(repository)

    def _with_files(self, changes: list[Change], request: RangeRequest) -> list[Change]:
        """Fill `files` where a rule needs them: every commit but merges under path filters, and commits
        carrying our trailer (our own only if they touch nothing but the notes file; issue 9)."""
        filtered = bool(request.include_paths or request.exclude_paths)
        return [
            dataclasses.replace(c, files=tuple(self._files(c.sha)))
            if (filtered and len(c.parents) < 2) or OWN_TRAILER in c.body
            else c
            for c in changes
        ]

    def _files(self, sha: str) -> list[str]:
        # The API has no per-commit file list in bulk, so this costs one request per commit
        # (README: "Path filters").
        try:
            return [f.filename for f in self._client.repo().get_commit(sha).files]
        except Exception as exc:
            raise translate(exc, doing=f"reading the files of commit {sha[:7]}", error=CollectError) from exc

    def new_contributors(
        self, raw: list[Change], request: RangeRequest, *, base: str | None, head: str
    ) -> tuple[str, ...]:
        """Logins of the range with no commit before it, oldest first (#11): one GraphQL query asks
        the history before the range about every author at once (an alias per author)."""
        excluded = {a.lower() for a in request.exclude_authors}
        emails: dict[str, set[str]] = {}
        for change in reversed(raw):  # oldest first, so the list reads in order of arrival
            login = change.author_login
            if not login or not change.author_email or is_own_commit(change.body):
                continue
            if is_excluded_author(excluded, login, change.author_name, change.author_email):
                continue
            emails.setdefault(login, set()).add(change.author_email)
        if not emails or not (base or request.since.kind == "date"):
            return ()  # a range from the root: everyone would be new, which tells nobody anything
        logins = list(emails)[:_MAX_NEW_CONTRIBUTOR_AUTHORS]
        owner, name = self._client.repository.split("/", 1)
        start = base or head
        until = request.since.date.isoformat() if not base and request.since.date else None
        fields = "\n".join(
            f"a{n}: history(first: 1, until: $until, author: $a{n}) {{ nodes {{ oid }} }}"
            for n in range(len(logins))
        )
        params = "".join(f", $a{n}: CommitAuthor!" for n in range(len(logins)))
        query = (
            f"query($owner: String!, $name: String!, $start: String!, $until: GitTimestamp{params}) {{\n"
            f"  repository(owner: $owner, name: $name) {{ object(expression: $start) {{ ... on Commit {{\n"
            f"{fields}\n  }} }} }}\n}}"
        )
        variables: dict[str, Any] = {"owner": owner, "name": name, "start": start, "until": until}
        variables |= {f"a{n}": {"emails": sorted(emails[login])} for n, login in enumerate(logins)}
        try:
            data = self._client.graphql(query, variables)
        except (GithubException, OSError):  # the notes are whole without this part: a failure drops it
            return ()
        commit = ((data.get("repository") or {}).get("object")) or {}
        return tuple(
            login for n, login in enumerate(logins) if not ((commit.get(f"a{n}") or {}).get("nodes"))
        )


# Aliases in the one query; past this, the range is not a release anyone reads names from.
_MAX_NEW_CONTRIBUTOR_AUTHORS = 100


# How much older than the base a listed commit must be before the base counts as no ancestor of the head:
# commit dates may disagree with the graph (rebases, skewed clocks).
_SKEW = timedelta(days=1)


class _BaseHistory:
    """The base's own history, read only as far as the head's history has gone (git walks both sides by
    date the same way), each commit marked as left out of the range. Pull requests are not asked for."""

    def __init__(self, source: GitHubApiSource, variables: dict[str, Any], base: str) -> None:
        self._source = source
        self._variables = {**variables, "head": base, "after": None, "withPulls": False}
        self._more = True
        self._oldest: datetime | None = None

    def catch_up(self, walk: HistoryWalk, until: datetime | None, head_expr: str) -> None:
        """Read pages until as old as `until` (None: to the end), or until the walk is done."""
        while (
            self._more and not walk.done and (until is None or self._oldest is None or self._oldest > until)
        ):
            repository = self._source._page(self._variables, head_expr)
            history = repository["head"]["history"]
            for node in history["nodes"]:
                walk.exclude(node["oid"], commit_parents(node))
                self._oldest = _when(node.get("committedDate")) or self._oldest
            self._more = bool(history["pageInfo"]["hasNextPage"])
            self._variables["after"] = history["pageInfo"]["endCursor"]


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _forbidden(exc: GithubException) -> bool:
    errors = exc.data.get("errors") if isinstance(exc.data, dict) else None
    if not isinstance(errors, list) or not errors:
        return False
    return all(
        isinstance(e, dict) and e.get("type") == "FORBIDDEN" and "associatedPullRequests" in e.get("path", ())
        for e in errors
    )


def _tag_targets(tags: dict[str, Any] | None) -> list[tuple[str, str]]:
    found = []
    for node in (tags or {}).get("nodes", []):
        target = node["target"]
        # An annotated tag points at a Tag object, which points at the commit.
        oid = (target.get("target") or {}).get("oid") or target["oid"]
        found.append((node["name"], oid))
    return found


def _tag_at(tags: list[tuple[str, str]], sha: str) -> str | None:
    """The highest version among the tags on `sha`, as `git tag --points-at --sort=-v:refname`."""
    names = [name for name, oid in tags if oid == sha]
    return max(names, key=_version_key) if names else None


def _version_key(name: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in re.split(r"(\d+)", name) if part)


def _replay(old: HistoryWalk, new: HistoryWalk) -> HistoryWalk:
    for sha, parents in old.listed():
        new.add(sha, parents)
    return new
