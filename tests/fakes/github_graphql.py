"""The GraphQL half of the GitHub emulator: a faithful subset of GitHub's public schema on graphql-core.

Names, nullability and arguments follow https://docs.github.com/graphql (schema.docs.graphql); only
the part patch-push reads is present. Errors come back the way GitHub sends them: HTTP 200 with
`{"errors": [{"type": ..., "path": ..., "locations": ..., "message": ...}]}`, and pagination mistakes
(no `first`/`last`, more than 100 records) reject the whole query before any data is returned.

A commit's `associatedPullRequests` are every pull request whose branch or merge commit holds it, in any
state and against any base (GitHub: "the merged pull request that introduced the commit", plus open
ones), oldest first: a client that takes the first one gets an unrelated PR (release-drafter#1354).
A history page larger than `max_history_page` times out as GitHub's do on big repositories
(`QueryTimeout`, which the server answers with 502, 504 or a 200 error; release-please#2679).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from graphql import GraphQLError, GraphQLResolveInfo, build_schema, graphql_sync

from tests.fakes.github_git import CommitInfo, GitRepo, Identity, iso_utc

if TYPE_CHECKING:
    from typing import TypeAlias

    Info: TypeAlias = GraphQLResolveInfo[Any]

SDL = """
scalar DateTime
scalar GitObjectID
scalar GitTimestamp
scalar URI

interface Node { id: ID! }

interface Actor {
  avatarUrl(size: Int): URI!
  login: String!
  url: URI!
}

interface RepositoryOwner {
  id: ID!
  login: String!
  url: URI!
}

type User implements Actor & Node & RepositoryOwner {
  avatarUrl(size: Int): URI!
  databaseId: Int
  id: ID!
  login: String!
  url: URI!
}

type Bot implements Actor & Node {
  avatarUrl(size: Int): URI!
  databaseId: Int
  id: ID!
  login: String!
  url: URI!
}

type Organization implements Actor & Node & RepositoryOwner {
  avatarUrl(size: Int): URI!
  databaseId: Int
  id: ID!
  login: String!
  url: URI!
}

type RateLimit {
  cost: Int!
  limit: Int!
  nodeCount: Int!
  remaining: Int!
  resetAt: DateTime!
  used: Int!
}

type Query {
  rateLimit(dryRun: Boolean = false): RateLimit
  repository(followRenames: Boolean = true, name: String!, owner: String!): Repository
}

type Repository implements Node {
  defaultBranchRef: Ref
  id: ID!
  isPrivate: Boolean!
  name: String!
  nameWithOwner: String!
  object(expression: String, oid: GitObjectID): GitObject
  owner: RepositoryOwner!
  pullRequest(number: Int!): PullRequest
  ref(qualifiedName: String!): Ref
  refs(after: String, before: String, direction: OrderDirection, first: Int, last: Int,
       orderBy: RefOrder, query: String, refPrefix: String!): RefConnection
  url: URI!
}

type PageInfo {
  endCursor: String
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
}

enum OrderDirection { ASC DESC }
enum RefOrderField { ALPHABETICAL TAG_COMMIT_DATE }
input RefOrder { direction: OrderDirection! field: RefOrderField! }

type Ref implements Node {
  id: ID!
  name: String!
  prefix: String!
  repository: Repository!
  target: GitObject
}
type RefEdge { cursor: String! node: Ref }
type RefConnection { edges: [RefEdge] nodes: [Ref] pageInfo: PageInfo! totalCount: Int! }

interface GitObject {
  abbreviatedOid: String!
  commitResourcePath: URI!
  commitUrl: URI!
  id: ID!
  oid: GitObjectID!
  repository: Repository!
}

type GitActor {
  avatarUrl(size: Int): URI!
  date: GitTimestamp
  email: String
  name: String
  user: User
}

input CommitAuthor { emails: [String!] }

type Commit implements GitObject & Node {
  abbreviatedOid: String!
  additions: Int!
  associatedPullRequests(
    after: String, before: String, first: Int, last: Int,
    orderBy: PullRequestOrder = {field: CREATED_AT, direction: ASC}
  ): PullRequestConnection
  author: GitActor
  authoredByCommitter: Boolean!
  authoredDate: DateTime!
  changedFilesIfAvailable: Int
  commitResourcePath: URI!
  commitUrl: URI!
  committedDate: DateTime!
  committer: GitActor
  deletions: Int!
  history(after: String, author: CommitAuthor, before: String, first: Int, last: Int, path: String,
          since: GitTimestamp, until: GitTimestamp): CommitHistoryConnection!
  id: ID!
  message: String!
  messageBody: String!
  messageHeadline: String!
  oid: GitObjectID!
  parents(after: String, before: String, first: Int, last: Int): CommitConnection!
  repository: Repository!
  resourcePath: URI!
  tree: Tree!
  url: URI!
}
type CommitEdge { cursor: String! node: Commit }
type CommitConnection { edges: [CommitEdge] nodes: [Commit] pageInfo: PageInfo! totalCount: Int! }
type CommitHistoryConnection { edges: [CommitEdge] nodes: [Commit] pageInfo: PageInfo! totalCount: Int! }

type TreeEntry { mode: Int! name: String! oid: GitObjectID! path: String size: Int! type: String! }

type Tree implements GitObject & Node {
  abbreviatedOid: String!
  commitResourcePath: URI!
  commitUrl: URI!
  entries: [TreeEntry!]
  id: ID!
  oid: GitObjectID!
  repository: Repository!
}

type Blob implements GitObject & Node {
  abbreviatedOid: String!
  byteSize: Int!
  commitResourcePath: URI!
  commitUrl: URI!
  id: ID!
  isBinary: Boolean
  isTruncated: Boolean!
  oid: GitObjectID!
  repository: Repository!
  text: String
}

type Tag implements GitObject & Node {
  abbreviatedOid: String!
  commitResourcePath: URI!
  commitUrl: URI!
  id: ID!
  message: String
  name: String!
  oid: GitObjectID!
  repository: Repository!
  tagger: GitActor
  target: GitObject!
}

enum PullRequestState { CLOSED MERGED OPEN }
enum PullRequestOrderField { CREATED_AT UPDATED_AT }
input PullRequestOrder { direction: OrderDirection! field: PullRequestOrderField! }

type Label implements Node { color: String! description: String id: ID! name: String! url: URI! }
type LabelEdge { cursor: String! node: Label }
type LabelConnection { edges: [LabelEdge] nodes: [Label] pageInfo: PageInfo! totalCount: Int! }

type PullRequest implements Node {
  author: Actor
  baseRefName: String!
  body: String!
  closedAt: DateTime
  createdAt: DateTime!
  headRefName: String!
  headRefOid: GitObjectID!
  id: ID!
  isDraft: Boolean!
  labels(after: String, before: String, first: Int, last: Int): LabelConnection
  mergeCommit: Commit
  merged: Boolean!
  mergedAt: DateTime
  number: Int!
  permalink: URI!
  state: PullRequestState!
  title: String!
  updatedAt: DateTime!
  url: URI!
}
type PullRequestEdge { cursor: String! node: PullRequest }
type PullRequestConnection {
  edges: [PullRequestEdge] nodes: [PullRequest] pageInfo: PageInfo! totalCount: Int!
}
"""

SCHEMA = build_schema(SDL)
MAX_PAGE = 100


class PullLike(Protocol):
    """What the emulator records about a pull request (see github_server.PullRequestRecord)."""

    id: int
    number: int
    title: str
    body: str | None
    labels: list[str]
    author: str
    head_ref: str
    head_sha: str
    base: str
    state: str
    draft: bool
    merged_at: str | None
    merge_commit_sha: str | None
    created_at: str
    updated_at: str
    closed_at: str | None


class Backend(Protocol):
    """The emulator, as the resolvers see it."""

    git: GitRepo

    def canonical_name(self, owner: str, name: str) -> tuple[str, str] | None: ...

    def default_branch(self) -> str: ...

    def pulls_for_commit(self, sha: str) -> Sequence[PullLike]: ...

    def find_pull(self, number: int) -> PullLike | None: ...

    def login_for_email(self, email: str) -> str | None: ...

    def user_id(self, login: str) -> int: ...


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    used: int
    reset_epoch: int


QUERY_TIMEOUT_MESSAGE = (
    "Something went wrong while executing your query. This may be the result of a timeout, or it could "
    "be a GitHub bug. Please include `{request_id}` when reporting this issue."
)


class QueryTimeout(Exception):
    """The query asked for a history page larger than the server can serve in time."""


class _Refused(Exception):
    """A pagination error that makes GitHub reject the whole query (no `data` in the answer)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def execute(
    backend: Backend,
    html_root: str,
    payload: Any,
    rate: RateState,
    permissions: frozenset[str] | None = None,
    *,
    max_history_page: int | None = None,
) -> dict[str, Any]:
    """Run one POST /graphql body; returns the JSON document GitHub would send (always HTTP 200).

    `permissions` are the token's: a field it may not read resolves to null with a FORBIDDEN error,
    next to the data it may read, as GitHub answers an installation token. Raises `QueryTimeout`
    when a `history` page is larger than `max_history_page`."""
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return {"errors": [{"message": "A query attribute must be specified and must be a string."}]}
    variables = payload.get("variables")
    result = graphql_sync(
        SCHEMA,
        payload["query"],
        root_value=_Query(backend, html_root, rate),
        variable_values=variables if isinstance(variables, dict) else None,
        operation_name=payload.get("operationName"),
        type_resolver=lambda value, _info, _type: value.typename,
        context_value={"permissions": permissions, "max_history_page": max_history_page},
    )
    if any(isinstance(e.original_error, QueryTimeout) for e in result.errors or ()):
        raise QueryTimeout()
    if not result.errors:
        return {"data": result.data}
    errors = []
    for error in result.errors:
        original = error.original_error
        item: dict[str, Any] = {}
        if isinstance(original, _Refused):
            item["type"] = original.kind
        elif error.extensions and "type" in error.extensions:
            item["type"] = error.extensions["type"]
        if error.path:
            item["path"] = list(error.path)
        if error.locations:
            item["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
        item["message"] = error.message
        errors.append(item)
    if any(isinstance(e.original_error, _Refused) for e in result.errors):
        return {
            "errors": [
                e
                for e, r in zip(errors, result.errors, strict=True)
                if isinstance(r.original_error, _Refused)
            ]
        }
    if result.data is None:
        return {"errors": errors}
    return {"data": result.data, "errors": errors}


# --- pagination ------------------------------------------------------------------------------------


def _encode(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _decode_offset(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        return int(text.rsplit(" ", 1)[-1].rsplit(":", 1)[-1])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise GraphQLError(
            f"`{cursor}` does not appear to be a valid cursor.",
            extensions={"type": "INVALID_CURSOR_ARGUMENTS"},
        ) from None


@dataclass(frozen=True)
class _Window:
    start: int
    stop: int | None  # None: open-ended (stop = start + first)
    size: int


def _window(
    info: Info, first: int | None, last: int | None, after: str | None, before: str | None
) -> _Window:
    name = info.field_name
    if first is None and last is None:
        raise _Refused(
            "MISSING_PAGINATION_BOUNDARIES",
            f"You must provide a `first` or `last` value to properly paginate the `{name}` connection.",
        )
    for arg, value in (("first", first), ("last", last)):
        if value is not None and value > MAX_PAGE:
            raise _Refused(
                "EXCESSIVE_PAGINATION",
                f"Requesting {value} records on the `{name}` connection exceeds the "
                f"`{arg}` limit of {MAX_PAGE} records.",
            )
        if value is not None and value < 0:
            raise GraphQLError(
                f"`{arg}` on the `{name}` connection cannot be less than zero.",
                extensions={"type": "INVALID_ARGUMENTS"},
            )
    start = _decode_offset(after) + 1 if after else 0
    stop = _decode_offset(before) if before else None
    if first is not None:
        size = first if stop is None else max(0, min(first, stop - start))
        return _Window(start, stop, size)
    assert last is not None
    return _Window(start, stop, last)


class _Connection:
    """A page of items with GitHub's connection shape; `cursor(i)` encodes absolute index i."""

    typename = "Connection"

    def __init__(self, items: list[Any], offset: int, has_next: bool, total: Any, anchor: str) -> None:
        self.nodes = items
        self._offset = offset
        self._has_next = has_next
        self._total = total
        self._anchor = anchor

    def _cursor(self, index: int) -> str:
        return _encode(f"{self._anchor} {index}" if self._anchor else f"cursor:v2:{index}")

    def edges(self, _info: Info) -> list[dict[str, Any]]:
        return [{"cursor": self._cursor(self._offset + i), "node": n} for i, n in enumerate(self.nodes)]

    def pageInfo(self, _info: Info) -> dict[str, Any]:
        return {
            "startCursor": self._cursor(self._offset) if self.nodes else None,
            "endCursor": self._cursor(self._offset + len(self.nodes) - 1) if self.nodes else None,
            "hasNextPage": self._has_next,
            "hasPreviousPage": self._offset > 0,
        }

    def totalCount(self, _info: Info) -> int:
        return int(self._total() if callable(self._total) else self._total)


def _paginate(
    info: Info,
    items: list[Any],
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    anchor: str = "",
) -> _Connection:
    win = _window(info, first, last, after, before)
    stop = len(items) if win.stop is None else min(win.stop, len(items))
    if first is not None:
        page = items[win.start : min(stop, win.start + win.size)]
        offset = win.start
    else:
        offset = max(win.start, stop - win.size)
        page = items[offset:stop]
    return _Connection(page, offset, offset + len(page) < len(items), len(items), anchor)


# --- object types ----------------------------------------------------------------------------------


class _Actor:
    def __init__(self, backend: Backend, html_root: str, login: str) -> None:
        self.typename = "Bot" if login.endswith("[bot]") else "User"
        # GraphQL names apps without the "[bot]" suffix the REST API adds
        self.login = login.removesuffix("[bot]")
        self.url = f"{html_root}/apps/{self.login}" if self.typename == "Bot" else f"{html_root}/{login}"
        self.databaseId = backend.user_id(login)
        self.id = _node_id(self.typename, str(self.databaseId))

    def avatarUrl(self, _info: Info, size: int | None = None) -> str:
        return f"https://avatars.githubusercontent.com/u/{self.databaseId}?v=4"


class _Owner(_Actor):
    def __init__(self, backend: Backend, html_root: str, login: str) -> None:
        super().__init__(backend, html_root, login)
        self.typename = "Organization"


class _GitActor:
    def __init__(self, repo: _Repository, who: Identity) -> None:
        self.name = who.name
        self.email = who.email
        self.date = who.iso
        login = repo.backend.login_for_email(who.email)
        self.user = (
            None if login is None or login.endswith("[bot]") else _Actor(repo.backend, repo.html_root, login)
        )

    def avatarUrl(self, _info: Info, size: int | None = None) -> str:
        return "https://avatars.githubusercontent.com/u/0?v=4"


class _GitObject:
    typename = "GitObject"

    def __init__(self, repo: _Repository, oid: str) -> None:
        self.repository = repo
        self.oid = oid
        self.abbreviatedOid = oid[:7]
        self.id = _node_id(self.typename, oid)

    @property
    def commitUrl(self) -> str:
        return f"{self.repository.url}/commit/{self.oid}"

    @property
    def commitResourcePath(self) -> str:
        return self.commitUrl.split("/", 3)[-1]


class _Blob(_GitObject):
    typename = "Blob"

    def __init__(self, repo: _Repository, oid: str, size: int) -> None:
        super().__init__(repo, oid)
        self.byteSize = size
        self.isTruncated = False

    def _data(self) -> bytes:
        return self.repository.backend.git.cat(self.oid)

    def isBinary(self, _info: Info) -> bool:
        return b"\0" in self._data()[:8000]

    def text(self, _info: Info) -> str | None:
        data = self._data()
        return None if b"\0" in data[:8000] else data.decode("utf-8", errors="replace")


class _Tree(_GitObject):
    typename = "Tree"

    def entries(self, _info: Info) -> list[dict[str, Any]]:
        git = self.repository.backend.git
        out = git.run("ls-tree", "-l", "-z", self.oid).decode(errors="replace")
        result = []
        for record in filter(None, out.split("\0")):
            meta, name = record.split("\t", 1)
            mode, kind, sha, size = meta.split()
            result.append(
                {
                    "mode": int(mode, 8),
                    "name": name,
                    "oid": sha,
                    "path": name,
                    "size": 0 if size == "-" else int(size),
                    "type": kind,
                }
            )
        return result


class _Tag(_GitObject):
    typename = "Tag"

    def __init__(self, repo: _Repository, oid: str) -> None:
        super().__init__(repo, oid)
        text = repo.backend.git.cat(oid).decode(errors="replace")
        header, _, self.message = text.partition("\n\n")
        fields = dict(line.split(" ", 1) for line in header.splitlines() if " " in line)
        self.name = fields.get("tag", "")
        self._target = (fields["object"], fields["type"])
        self.tagger = None
        if "tagger" in fields:
            who, _, rest = fields["tagger"].rpartition(" <")
            email, _, when = rest.partition("> ")
            self.tagger = _GitActor(repo, Identity(who, email, int(when.split()[0])))

    @property
    def target(self) -> _GitObject:
        return self.repository.make_object(*self._target)


class _Commit(_GitObject):
    typename = "Commit"

    def __init__(self, repo: _Repository, oid: str) -> None:
        super().__init__(repo, oid)
        self.url = self.commitUrl
        self.resourcePath = self.commitResourcePath

    @property
    def _info(self) -> CommitInfo:
        return self.repository.backend.git.commit(self.oid)

    @property
    def message(self) -> str:
        return self._info.message

    @property
    def messageHeadline(self) -> str:
        return self._info.message.split("\n", 1)[0]

    @property
    def messageBody(self) -> str:
        return self._info.message.partition("\n")[2].strip("\n")

    @property
    def authoredDate(self) -> str:
        return self._info.author.iso

    @property
    def committedDate(self) -> str:
        return self._info.committer.iso

    @property
    def authoredByCommitter(self) -> bool:
        return (self._info.author.name, self._info.author.email) == (
            self._info.committer.name,
            self._info.committer.email,
        )

    @property
    def author(self) -> _GitActor:
        return _GitActor(self.repository, self._info.author)

    @property
    def committer(self) -> _GitActor:
        return _GitActor(self.repository, self._info.committer)

    @property
    def tree(self) -> _Tree:
        return _Tree(self.repository, self._info.tree)

    def _stats(self) -> tuple[int, int, int]:
        parent = self._info.parents[0] if self._info.parents else None
        changes = self.repository.backend.git.diff(parent, self.oid, limit=3000)
        return sum(c.additions for c in changes), sum(c.deletions for c in changes), len(changes)

    def additions(self, _info: Info) -> int:
        return self._stats()[0]

    def deletions(self, _info: Info) -> int:
        return self._stats()[1]

    def changedFilesIfAvailable(self, _info: Info) -> int:
        return self._stats()[2]

    def parents(
        self,
        info: Info,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> _Connection:
        nodes = [_Commit(self.repository, p) for p in self._info.parents]
        return _paginate(info, nodes, first, last, after, before)

    def associatedPullRequests(
        self,
        info: Info,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
        orderBy: dict[str, str] | None = None,
    ) -> _Connection:
        granted = info.context.get("permissions")
        if granted is not None and not granted & {"pull_requests:read", "pull_requests:write"}:
            raise GraphQLError("Resource not accessible by integration", extensions={"type": "FORBIDDEN"})
        repo = self.repository
        order = orderBy or {"field": "CREATED_AT", "direction": "ASC"}
        key = "updated_at" if order.get("field") == "UPDATED_AT" else "created_at"
        pulls = sorted(
            repo.backend.pulls_for_commit(self.oid),
            key=lambda p: (getattr(p, key), p.number),
            reverse=order.get("direction") == "DESC",
        )
        nodes = [_PullRequest(repo, pr) for pr in pulls]
        return _paginate(info, nodes, first, last, after, before)

    def history(
        self,
        info: Info,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
        path: str | None = None,
        since: str | None = None,
        until: str | None = None,
        author: dict[str, Any] | None = None,
    ) -> _Connection:
        """`git rev-list` order from this commit (all parents, newest first), like GitHub's history."""
        git = self.repository.backend.git
        win = _window(info, first, last, after, before)
        limit = info.context.get("max_history_page")
        if limit is not None and max(first or 0, last or 0) > limit:
            raise QueryTimeout()
        revs = [self.oid, *_author_args(author)]
        paths = [path] if path else []

        def total() -> int:
            return git.count(revs, since=since, until=until, paths=paths)

        if first is not None:
            want = win.size if win.stop is None else max(0, min(win.size, win.stop - win.start))
            shas = git.rev_list(revs, since=since, until=until, paths=paths, skip=win.start, limit=want + 1)
            has_next = len(shas) > want
            shas, offset = shas[:want], win.start
        else:
            stop = total() if win.stop is None else win.stop
            offset = max(win.start, stop - win.size)
            shas = git.rev_list(
                revs, since=since, until=until, paths=paths, skip=offset, limit=max(0, stop - offset)
            )
            has_next = win.stop is not None
        git.commits(shas)  # one git process for the whole page
        nodes = [_Commit(self.repository, s) for s in shas]
        return _Connection(nodes, offset, has_next, total, anchor=self.oid)


def _author_args(author: dict[str, Any] | None) -> list[str]:
    emails = (author or {}).get("emails") or []
    return ["--fixed-strings", *(f"--author=<{e}>" for e in emails)] if emails else []


class _Label:
    typename = "Label"

    def __init__(self, repo: _Repository, name: str) -> None:
        self.name = name
        self.color = f"{zlib.crc32(name.encode()) & 0xFFFFFF:06x}"
        self.description = None
        self.id = _node_id("Label", name)
        self.url = f"{repo.url}/labels/{name}"


class _PullRequest:
    typename = "PullRequest"

    def __init__(self, repo: _Repository, pr: PullLike) -> None:
        self._repo = repo
        self._pr = pr
        self.number = pr.number
        self.title = pr.title
        self.body = pr.body or ""
        self.url = self.permalink = f"{repo.url}/pull/{pr.number}"
        self.mergedAt = pr.merged_at
        self.merged = pr.merged_at is not None
        self.state = "MERGED" if self.merged else pr.state.upper()
        self.createdAt = pr.created_at
        self.updatedAt = pr.updated_at
        self.closedAt = pr.closed_at
        self.baseRefName = pr.base
        self.headRefName = pr.head_ref
        self.headRefOid = pr.head_sha
        self.isDraft = pr.draft
        self.id = _node_id("PullRequest", str(pr.id))
        self.author = _Actor(repo.backend, repo.html_root, pr.author)
        self.mergeCommit = _Commit(repo, pr.merge_commit_sha) if pr.merge_commit_sha else None

    def labels(
        self,
        info: Info,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> _Connection:
        return _paginate(info, [_Label(self._repo, n) for n in self._pr.labels], first, last, after, before)


class _Ref:
    typename = "Ref"

    def __init__(self, repo: _Repository, qualified: str, sha: str, kind: str) -> None:
        self.repository = repo
        self.prefix, _, self.name = qualified.rpartition("/")
        self.prefix += "/"
        for prefix in ("refs/heads/", "refs/tags/"):
            if qualified.startswith(prefix):
                self.prefix, self.name = prefix, qualified.removeprefix(prefix)
        self.id = _node_id("Ref", qualified)
        self.target = repo.make_object(sha, kind)


class _Repository:
    typename = "Repository"

    def __init__(self, backend: Backend, html_root: str, owner: str, name: str) -> None:
        self.backend = backend
        self.html_root = html_root
        self.name = name
        self.nameWithOwner = f"{owner}/{name}"
        self.url = f"{html_root}/{owner}/{name}"
        self.isPrivate = True
        self.id = _node_id("Repository", self.nameWithOwner)
        self.owner = _Owner(backend, html_root, owner)

    def make_object(self, sha: str, kind: str, size: int = 0) -> _GitObject:
        if kind == "commit":
            return _Commit(self, sha)
        if kind == "tag":
            return _Tag(self, sha)
        if kind == "tree":
            return _Tree(self, sha)
        return _Blob(self, sha, size)

    def _ref(self, qualified: str) -> _Ref | None:
        info = self.backend.git.object_info(qualified)
        return _Ref(self, qualified, info[0], info[1]) if info else None

    def defaultBranchRef(self, _info: Info) -> _Ref | None:
        return self._ref(f"refs/heads/{self.backend.default_branch()}")

    def ref(self, _info: Info, qualifiedName: str) -> _Ref | None:
        if not qualifiedName.startswith("refs/"):
            # GitHub resolves a short name as a branch first, then a tag
            return self._ref(f"refs/heads/{qualifiedName}") or self._ref(f"refs/tags/{qualifiedName}")
        return self._ref(qualifiedName)

    def object(self, _info: Info, expression: str | None = None, oid: str | None = None) -> _GitObject | None:
        found = self.backend.git.object_info(oid or expression or "")
        return self.make_object(found[0], found[1], found[2]) if found else None

    def pullRequest(self, _info: Info, number: int) -> _PullRequest:
        pr = self.backend.find_pull(number)
        if pr is None:
            raise GraphQLError(
                f"Could not resolve to a PullRequest with the number of {number}.",
                extensions={"type": "NOT_FOUND"},
            )
        return _PullRequest(self, pr)

    def refs(
        self,
        info: Info,
        refPrefix: str,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
        orderBy: dict[str, str] | None = None,
        direction: str | None = None,
        query: str | None = None,
    ) -> _Connection:
        found = self.backend.git.refs(refPrefix.rstrip("/") + "/" if refPrefix else "refs/")
        if query:
            found = [r for r in found if query in r.name.removeprefix(refPrefix)]
        field = (orderBy or {}).get("field", "ALPHABETICAL")
        order = (orderBy or {}).get("direction") or direction or "ASC"
        if field == "TAG_COMMIT_DATE":
            dates = {c.sha: c.committer.epoch for c in self.backend.git.commits([r.peeled for r in found])}
            found.sort(key=lambda r: (dates.get(r.peeled, 0), r.name), reverse=order == "DESC")
        else:
            found.sort(key=lambda r: r.name, reverse=order == "DESC")
        nodes = [_Ref(self, r.name, r.sha, r.type) for r in found]
        return _paginate(info, nodes, first, last, after, before)


class _Query:
    def __init__(self, backend: Backend, html_root: str, rate: RateState) -> None:
        self._backend = backend
        self._html_root = html_root
        self._rate = rate

    def rateLimit(self, _info: Info, dryRun: bool = False) -> dict[str, Any]:
        return {
            "cost": 1,
            "limit": self._rate.limit,
            "nodeCount": 1,
            "remaining": self._rate.remaining,
            "used": self._rate.used,
            "resetAt": iso_utc(self._rate.reset_epoch),
        }

    def repository(self, _info: Info, owner: str, name: str, followRenames: bool = True) -> _Repository:
        canonical = self._backend.canonical_name(owner, name)
        if canonical is None:
            raise GraphQLError(
                f"Could not resolve to a Repository with the name '{owner}/{name}'.",
                extensions={"type": "NOT_FOUND"},
            )
        return _Repository(self._backend, self._html_root, *canonical)


def _node_id(kind: str, key: str) -> str:
    return _encode(f"0:{kind}{key}").rstrip("=")
