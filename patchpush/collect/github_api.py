"""Collect through the GitHub API, no checkout needed: GraphQL history pages of 100 commits, each
commit with its pull request, so a range of N commits costs about N/100 requests, never N."""

from __future__ import annotations

from typing import Any

from github.GithubException import GithubException

from patchpush.collect import RangeRequest
from patchpush.collect.conventional import parse, paths_selected
from patchpush.collect.selection import select, with_pull_request
from patchpush.errors import CollectError
from patchpush.github_client import GitHubClient, translate
from patchpush.models import Change, ChangeSet

PAGE = 100  # GitHub's maximum for `first`
_NO_PULLS = (
    "the token may not read pull requests, so the notes use commit messages only; "
    "add `pull-requests: read` to the job's permissions for pull request titles, bodies and labels"
)
_COMMIT = """
  oid message committedDate
  author { name email user { login } }
  parents(first: 2) { nodes { oid } }
  associatedPullRequests(first: 1) @include(if: $withPulls) {
    nodes { number title body author { login } labels(first: 20) { nodes { name } } }
  }
"""
_QUERY = """
query($owner: String!, $name: String!, $head: String!, $after: String, $since: GitTimestamp,
      $base: String!, $hasBase: Boolean!, $withTags: Boolean!, $withPulls: Boolean!) {
  repository(owner: $owner, name: $name) {
    url
    base: object(expression: $base) @include(if: $hasBase) { oid }
    tags: refs(refPrefix: "refs/tags/", first: 100, orderBy: {field: TAG_COMMIT_DATE, direction: DESC})
        @include(if: $withTags) {
      nodes { name target { oid ... on Tag { target { oid } } } }
    }
    head: object(expression: $head) {
      ... on Commit {
        oid
        history(first: __PAGE__, after: $after, since: $since) {
          pageInfo { hasNextPage endCursor }
          nodes { __COMMIT_FIELDS__ }
        }
      }
    }
  }
}
""".replace("__PAGE__", str(PAGE)).replace("__COMMIT_FIELDS__", _COMMIT)
_BREAKING_LABELS = {"breaking", "breaking-change", "breaking change", "semver:major", "major"}
_LABEL_TYPES = {
    "bug": "fix",
    "enhancement": "feat",
    "feature": "feat",
    "documentation": "docs",
    "dependencies": "deps",
    "performance": "perf",
    "security": "security",
}


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
            "base": base_expr,
            "hasBase": bool(base_expr),
            "withTags": True,
            "withPulls": True,
        }
        raw: list[dict[str, Any]] = []
        base: str | None = None
        head = ""
        head_tag: str | None = None
        stop_at: set[str] = set()
        truncated = False
        warnings: list[str] = []
        while True:
            repository = self._query(variables, head_expr)
            if not variables["withPulls"] and not warnings:
                warnings.append(_NO_PULLS)
            if variables["withTags"]:
                tags = _tag_targets(repository.get("tags"))
                head = repository["head"]["oid"]
                head_tag = next((t for t, oid in tags if oid == head), None)
                if base_expr:
                    if not repository.get("base"):
                        raise CollectError(
                            f"input 'since' names '{base_expr}', which is not a commit, tag or branch in "
                            f"{self._client.repository}",
                            "check the name",
                        )
                    base = repository["base"]["oid"]
                    stop_at = {base}
                elif auto:
                    # As `git describe` does: stop at the last described commit, else the newest tag.
                    stop_at = (
                        {request.last_described}
                        if request.last_described
                        else {oid for _, oid in tags if oid != head}
                    )
                variables["withTags"] = False
            history = repository["head"]["history"]
            done = False
            for node in history["nodes"]:
                if node["oid"] in stop_at:
                    base = node["oid"] if auto else base
                    done = True
                    break
                if len(raw) == request.max_commits:
                    truncated = done = True
                    break
                raw.append(node)
            if done or not history["pageInfo"]["hasNextPage"]:
                break
            variables["after"] = history["pageInfo"]["endCursor"]
        changes = [_change(node) for node in raw]
        if request.include_paths or request.exclude_paths:
            changes = [
                c
                for c in changes
                if paths_selected(self._files(c.sha), request.include_paths, request.exclude_paths)
            ]
        kept, excluded, newest = select(changes, request)
        return ChangeSet(
            repository=self._client.repository,
            head=head,
            base=base,
            changes=tuple(kept),
            web_url=self._client.web_url,
            head_tag=head_tag,
            truncated=truncated,
            excluded=excluded,
            newest=newest,
            warnings=tuple(warnings),
        )

    def _query(self, variables: dict[str, Any], head_expr: str) -> dict[str, Any]:
        what = f"reading the history of {self._client.repository}@{head_expr}"
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
            raise translate(exc, doing=what, error=CollectError) from exc
        except Exception as exc:  # transport errors from requests/urllib3
            raise translate(exc, doing=what, error=CollectError) from exc
        repository = data.get("repository")
        if not repository or not repository.get("head") or "history" not in repository["head"]:
            raise CollectError(
                f"'{head_expr}' is not a branch, tag or commit in {self._client.repository}",
                "check the `branch` and `until` inputs",
            )
        return dict(repository)

    def _files(self, sha: str) -> list[str]:
        # Path filters need each commit's files; the API has no per-commit file list in bulk,
        # so this costs one request per commit (README: "Path filters").
        try:
            return [f.filename for f in self._client.repo().get_commit(sha).files]
        except Exception as exc:
            raise translate(exc, doing=f"reading the files of commit {sha[:7]}", error=CollectError) from exc


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


def _change(node: dict[str, Any]) -> Change:
    author = node.get("author") or {}
    change = parse(
        sha=node["oid"],
        message=node["message"],
        author_name=author.get("name") or "",
        author_email=author.get("email") or "",
        author_login=(author.get("user") or {}).get("login"),
        date=node.get("committedDate", ""),
        parents=tuple(p["oid"] for p in node["parents"]["nodes"]),
    )
    prs = node.get("associatedPullRequests", {}).get("nodes") or []
    if not prs:
        return change
    pr = prs[0]
    labels = [label["name"] for label in pr.get("labels", {}).get("nodes", [])]
    change = with_pull_request(
        change,
        number=pr["number"],
        title=pr.get("title"),
        body=pr.get("body"),
        labels=labels,
        author=(pr.get("author") or {}).get("login"),
    )
    lowered = {label.lower() for label in labels}
    if lowered & _BREAKING_LABELS and not change.breaking:
        change = _replace(change, breaking=True)
    if change.type is None:
        label_type = next((_LABEL_TYPES[x] for x in lowered if x in _LABEL_TYPES), None)
        if label_type:
            change = _replace(change, type=label_type)
    return change


def _replace(change: Change, **fields: Any) -> Change:
    import dataclasses

    return dataclasses.replace(change, **fields)
