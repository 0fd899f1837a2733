"""The GitHub emulator, driven end to end over HTTP by the real PyGithub client.

Response bodies are checked against GitHub's published OpenAPI description through the pydantic models
of githubkit-schemas (see `_schema`).
"""

from __future__ import annotations

import base64
import importlib
import importlib.util
import json
import re
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import github
import pytest
from github import Auth, GithubException

from tests.fakes.github_server import Fault, GitHubEmulator

BASE_EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z
REPO = "octo-org/widgets"
CONTENTS_DOC = "https://docs.github.com/rest/repos/contents#create-or-update-file-contents"
ROOT = Path(__file__).resolve().parents[2]


# --- fixtures ------------------------------------------------------------------------------------------


def _git(git_dir: Path, *args: str, stdin: bytes | None = None) -> str:
    out = subprocess.run(["git", f"--git-dir={git_dir}", *args], input=stdin, capture_output=True, check=True)
    return out.stdout.decode()


def build_repo(
    path: Path,
    commits: list[tuple[str, dict[str, str]]],
    *,
    tags: dict[str, int] | None = None,
    annotated: frozenset[str] = frozenset(),
) -> list[str]:
    """A bare repository whose `main` has `commits` (message, files), one minute apart; returns the shas."""
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    stream = []
    for i, (message, files) in enumerate(commits):
        when = f"{BASE_EPOCH + 60 * i} +0000"
        stream.append(f"commit refs/heads/main\nmark :{i + 1}\n")
        stream.append(f"author Dev <dev@example.com> {when}\ncommitter Dev <dev@example.com> {when}\n")
        stream.append(f"data {len(message.encode())}\n{message}\n")
        if i:
            stream.append(f"from :{i}\n")
        for name, text in files.items():
            stream.append(f"M 100644 inline {name}\ndata {len(text.encode())}\n{text}\n")
    for name, index in (tags or {}).items():
        if name in annotated:
            when = f"{BASE_EPOCH + 60 * index} +0000"
            stream.append(
                f"tag {name}\nfrom :{index + 1}\ntagger Dev <dev@example.com> {when}\ndata 7\nrelease\n"
            )
        else:
            stream.append(f"reset refs/tags/{name}\nfrom :{index + 1}\n\n")
    _git(path, "fast-import", "--quiet", stdin="".join(stream).encode())
    return _git(path, "rev-list", "--reverse", "main").split()


@pytest.fixture
def small_repo(tmp_path: Path) -> tuple[Path, list[str]]:
    bare = tmp_path / "widgets.git"
    shas = build_repo(
        bare,
        [
            ("feat: first", {"README.md": "hello\n", "docs/notes.md": "# Notes\n"}),
            ("fix: second\n\nWith a body.", {"README.md": "hello\nworld\n"}),
            ("feat(api): third", {"src/app.py": "print('hi')\n"}),
        ],
        tags={"v1.0": 0, "v1.1": 1},
        annotated=frozenset({"v1.1"}),
    )
    return bare, shas


@pytest.fixture
def long_repo(tmp_path: Path) -> tuple[Path, list[str]]:
    bare = tmp_path / "long.git"
    commits = [(f"feat: change {i}", {f"src/file{i % 5}.txt": f"version {i}\n"}) for i in range(150)]
    return bare, build_repo(bare, commits, tags={"v0.1": 49})


@pytest.fixture
def emu(small_repo: tuple[Path, list[str]]) -> Iterator[GitHubEmulator]:
    with GitHubEmulator(small_repo[0]) as running:
        yield running


def client(emu: GitHubEmulator, token: str = "test-token", **options: Any) -> github.Github:
    return github.Github(
        auth=Auth.Token(token),
        base_url=emu.base_url,
        seconds_between_requests=0,
        seconds_between_writes=0,
        **options,
    )


def raw(
    emu: GitHubEmulator,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = "test-token",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One plain HTTP request: (status, lower-cased headers, decoded JSON or bytes)."""
    request = urllib.request.Request(
        emu.base_url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, head, data = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        status, head, data = err.code, dict(err.headers), err.read()
    head = {k.lower(): v for k, v in head.items()}
    if head.get("content-type", "").startswith("application/json"):
        return status, head, json.loads(data)
    return status, head, data


def git_log(bare: Path, ref: str = "main") -> list[str]:
    return _git(bare, "log", "--format=%H", ref).split()


def fsck(bare: Path) -> None:
    result = subprocess.run(["git", f"--git-dir={bare}", "fsck", "--strict"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def graphql(emu: GitHubEmulator, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    status, _, data = raw(emu, "POST", "/graphql", {"query": query, "variables": variables or {}})
    assert status == 200
    assert isinstance(data, dict)
    return data


# --- GitHub's published schemas ------------------------------------------------------------------------


def _schema(name: str) -> Any:
    """The githubkit-schemas pydantic model `name` (generated from github/rest-api-description).

    githubkit 0.16.1 cannot be imported here: its cache module needs hishel<2's `CachePolicy`, and the
    environment has hishel 2.0.0. The generated models only use githubkit.compat/typing/utils, so they
    are loaded without running githubkit/__init__.py; the placeholder package is removed afterwards.
    """
    placeholder = None
    if "githubkit" not in sys.modules:
        try:
            importlib.import_module("githubkit")
        except ImportError:
            spec = importlib.util.find_spec("githubkit")
            assert spec is not None
            placeholder = sys.modules["githubkit"] = importlib.util.module_from_spec(spec)
    try:
        package = importlib.import_module("githubkit_schemas.v2026_03_10.models")
        for group, names in package.__lazy_vars__.items():
            if name in names:
                return getattr(importlib.import_module(group, package.__name__), name)
        raise LookupError(name)
    finally:
        if placeholder is not None and sys.modules.get("githubkit") is placeholder:
            del sys.modules["githubkit"]


def conforms(model: str, data: Any) -> None:
    _schema(model).model_validate(data)


# --- contents ------------------------------------------------------------------------------------------


def test_contents_read_and_write_make_real_commits(
    emu: GitHubEmulator, small_repo: tuple[Path, list[str]]
) -> None:
    bare, shas = small_repo
    repo = client(emu).get_repo(REPO)
    readme = repo.get_contents("README.md")
    assert not isinstance(readme, list)
    assert readme.decoded_content == b"hello\nworld\n"
    assert readme.sha == _git(bare, "rev-parse", "main:README.md").strip()

    updated = repo.update_file("README.md", "docs: update readme", "hello\nagain\n", readme.sha)
    created = repo.create_file("docs/ai_patch.md", "docs: add notes", "# Patch notes\n", branch="main")

    assert [r.status for r in emu.requests if r.method == "PUT"] == [200, 201]
    log = git_log(bare)
    assert log[:2] == [created["commit"].sha, updated["commit"].sha]
    assert log[2] == shas[-1]
    assert _git(bare, "show", "main:docs/ai_patch.md") == "# Patch notes\n"
    assert _git(bare, "show", "main:README.md") == "hello\nagain\n"
    assert _git(bare, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", "main").strip() == (
        "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
        "|GitHub <noreply@github.com>|docs: add notes"
    )
    fsck(bare)


def test_contents_json_matches_githubs_schemas(
    emu: GitHubEmulator, small_repo: tuple[Path, list[str]]
) -> None:
    status, headers, body = raw(emu, "GET", f"/repos/{REPO}/contents/README.md?ref=main")
    assert status == 200
    assert headers["content-type"] == "application/json; charset=utf-8"
    conforms("ContentFile", body)
    assert body["encoding"] == "base64"
    assert all(len(line) <= 60 for line in body["content"].splitlines())
    assert body["content"].endswith("\n")
    assert base64.b64decode(body["content"]) == b"hello\nworld\n"

    content = base64.b64encode(b"new\n").decode()
    status, _, put = raw(
        emu,
        "PUT",
        f"/repos/{REPO}/contents/README.md",
        {"message": "m", "content": content, "sha": body["sha"]},
    )
    assert status == 200
    conforms("FileCommit", put)
    assert put["commit"]["parents"][0]["sha"] == small_repo[1][-1]

    status, _, listing = raw(emu, "GET", f"/repos/{REPO}/contents/docs")
    assert status == 200
    assert [(item["name"], item["type"]) for item in listing] == [("notes.md", "file")]


def test_a_file_over_one_megabyte_comes_back_without_content(emu: GitHubEmulator) -> None:
    big = base64.b64encode(b"x" * (1024 * 1024 + 10)).decode()
    assert raw(emu, "PUT", f"/repos/{REPO}/contents/big.bin", {"message": "big", "content": big})[0] == 201
    status, _, body = raw(emu, "GET", f"/repos/{REPO}/contents/big.bin")
    assert status == 200
    assert (body["encoding"], body["content"], body["size"]) == ("none", "", 1024 * 1024 + 10)
    status, headers, data = raw(
        emu, "GET", f"/repos/{REPO}/contents/big.bin", headers={"Accept": "application/vnd.github.raw+json"}
    )
    assert headers["content-type"].startswith("application/vnd.github.raw")
    assert status == 200
    assert len(data) == 1024 * 1024 + 10


def test_a_stale_sha_gets_409_and_a_missing_sha_422(emu: GitHubEmulator) -> None:
    repo = client(emu).get_repo(REPO)
    stale = repo.get_contents("README.md")
    assert not isinstance(stale, list)
    repo.update_file("README.md", "first writer", "one\n", stale.sha)

    with pytest.raises(GithubException) as conflict:
        repo.update_file("README.md", "second writer", "two\n", stale.sha)
    assert conflict.value.status == 409
    assert conflict.value.data == {
        "message": f"README.md does not match {stale.sha}",
        "documentation_url": CONTENTS_DOC,
        "status": "409",
    }

    with pytest.raises(GithubException) as missing:
        repo.create_file("README.md", "no sha", "three\n")
    assert missing.value.status == 422
    assert missing.value.data["message"] == 'Invalid request.\n\n"sha" wasn\'t supplied.'
    conforms("BasicError", missing.value.data)


def test_unknown_branch_and_unknown_path(emu: GitHubEmulator) -> None:
    repo = client(emu).get_repo(REPO)
    with pytest.raises(GithubException) as branch:
        repo.create_file("x.md", "m", "x", branch="nope")
    assert (branch.value.status, branch.value.data["message"]) == (404, "Branch nope not found")
    with pytest.raises(github.UnknownObjectException):
        repo.get_contents("missing.md")
    with pytest.raises(github.UnknownObjectException) as no_branch:
        repo.get_branch("nope")
    assert no_branch.value.data["message"] == "Branch not found"
    assert raw(emu, "GET", "/repos/someone/else")[0] == 404


def test_a_protected_branch_takes_changes_through_a_pull_request(
    emu: GitHubEmulator, small_repo: tuple[Path, list[str]]
) -> None:
    bare, shas = small_repo
    emu.protect_branch("main")
    repo = client(emu).get_repo(REPO)
    assert repo.get_branch("main").protected is True
    readme = repo.get_contents("README.md")
    assert not isinstance(readme, list)

    with pytest.raises(GithubException) as refused:
        repo.update_file("README.md", "direct", "x\n", readme.sha)
    assert refused.value.status == 409
    assert refused.value.data["message"] == (
        "Repository rule violations found\n\nChanges must be made through a pull request.\n\n"
    )
    assert git_log(bare)[0] == shas[-1]

    repo.create_git_ref("refs/heads/patch-notes", shas[-1])
    repo.update_file("README.md", "docs: notes", "x\n", readme.sha, branch="patch-notes")
    pull = repo.create_pull(base="main", head="patch-notes", title="Patch notes", body="Generated")
    assert (pull.number, pull.head.ref, pull.base.ref, pull.state) == (1, "patch-notes", "main", "open")
    assert [(p.head_ref, p.base, p.title, p.body) for p in emu.pull_requests] == [
        ("patch-notes", "main", "Patch notes", "Generated")
    ]
    status, _, body = raw(emu, "GET", f"/repos/{REPO}/pulls/1")
    assert status == 200
    conforms("PullRequest", body)

    with pytest.raises(GithubException) as duplicate:
        repo.create_pull(base="main", head="patch-notes", title="again")
    assert duplicate.value.status == 422
    assert (
        duplicate.value.data["errors"][0]["message"]
        == "A pull request already exists for octo-org:patch-notes."
    )
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/heads/patch-notes", shas[-1])
    assert (exists.value.status, exists.value.data["message"]) == (422, "Reference already exists")
    assert [p.number for p in repo.get_pulls(state="open", base="main")] == [1]


# --- tokens --------------------------------------------------------------------------------------------


def test_a_bad_token_gets_401_and_a_missing_permission_403(small_repo: tuple[Path, list[str]]) -> None:
    tokens = {"ghs_reader": {"contents:read"}, "ghs_writer": {"contents:write"}}
    with GitHubEmulator(small_repo[0], tokens=tokens) as emu:
        with pytest.raises(github.BadCredentialsException) as bad:
            client(emu, "ghs_unknown").get_repo(REPO)
        assert bad.value.data["message"] == "Bad credentials"

        reader = client(emu, "ghs_reader").get_repo(REPO)
        readme = reader.get_contents("README.md")
        assert not isinstance(readme, list)
        with pytest.raises(GithubException) as denied:
            reader.update_file("README.md", "m", "x", readme.sha)
        assert denied.value.status == 403
        assert denied.value.data["message"] == "Resource not accessible by integration"
        assert (denied.value.headers or {})["x-accepted-github-permissions"] == "contents=write"

        writer = client(emu, "ghs_writer").get_repo(REPO)
        with pytest.raises(GithubException) as no_pulls:
            writer.create_pull(base="main", head="main", title="t")
        assert no_pulls.value.status == 403

        redacted = {r.request_headers.get("authorization") for r in emu.requests}
        assert redacted == {"token ***"}


# --- listing, pagination and compare -------------------------------------------------------------------


def test_commits_are_paginated_with_link_headers(long_repo: tuple[Path, list[str]]) -> None:
    bare, shas = long_repo
    with GitHubEmulator(bare) as emu:
        commits = list(client(emu, per_page=100).get_repo(REPO).get_commits())
        assert [c.sha for c in commits] == shas[::-1]
        pages = [r for r in emu.requests if r.path.endswith("/commits")]
        assert [(r.query.get("per_page"), r.query.get("page")) for r in pages] == [
            ("100", None),
            ("100", "2"),
        ]

        status, headers, first = raw(emu, "GET", f"/repos/{REPO}/commits?per_page=100")
        assert (status, len(first)) == (200, 100)
        links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', headers["link"]))
        assert set(links) == {"next", "last"}
        assert links["next"] == f"{emu.base_url}/repos/{REPO}/commits?per_page=100&page=2"
        status, headers, second = raw(emu, "GET", links["last"].removeprefix(emu.base_url))
        assert len(second) == 50
        assert set(re.findall(r'rel="(\w+)"', headers["link"])) == {"prev", "first"}
        for item in first[:3]:
            conforms("Commit", item)

        status, _, by_path = raw(emu, "GET", f"/repos/{REPO}/commits?path=src/file0.txt&per_page=100")
        assert len(by_path) == 30
        since = "2024-01-01T02:00:00Z"  # commits 120..149 are at or after this
        status, _, recent = raw(emu, "GET", f"/repos/{REPO}/commits?since={since}&per_page=100")
        assert [c["sha"] for c in recent] == shas[120:][::-1]
        assert int(headers["x-ratelimit-remaining"]) < 5000


def test_single_commit_lists_its_files(emu: GitHubEmulator, small_repo: tuple[Path, list[str]]) -> None:
    commit = client(emu).get_repo(REPO).get_commit(small_repo[1][1])
    assert commit.commit.message == "fix: second\n\nWith a body."
    assert [(f.filename, f.status, f.additions, f.deletions) for f in commit.files] == [
        ("README.md", "modified", 1, 0)
    ]
    assert commit.files[0].patch == "@@ -1 +1,2 @@\n hello\n+world"
    status, _, body = raw(emu, "GET", f"/repos/{REPO}/commits/{small_repo[1][1]}")
    conforms("Commit", body)
    status, _, missing = raw(emu, "GET", f"/repos/{REPO}/commits/{'f' * 40}")
    assert (status, missing["message"]) == (422, f"No commit found for SHA: {'f' * 40}")


def test_compare_reports_ahead_behind_and_pages_commits(long_repo: tuple[Path, list[str]]) -> None:
    bare, shas = long_repo
    with GitHubEmulator(bare) as emu:
        repo = client(emu).get_repo(REPO)
        comparison = repo.compare("v0.1", "main", comparison_commits_per_page=40)
        assert (comparison.status, comparison.ahead_by, comparison.behind_by) == ("ahead", 100, 0)
        assert comparison.total_commits == 100
        assert [c.sha for c in comparison.commits] == shas[50:]
        assert sorted(f.filename for f in comparison.files) == [f"src/file{i}.txt" for i in range(5)]
        assert len([r for r in emu.requests if "/compare/" in r.path]) == 3

        status, headers, body = raw(emu, "GET", f"/repos/{REPO}/compare/main...v0.1")
        assert status == 200
        conforms("CommitComparison", body)
        assert (body["status"], body["ahead_by"], body["behind_by"], body["commits"]) == (
            "behind",
            0,
            100,
            [],
        )
        assert "link" not in headers


# --- pull requests, tags, refs, releases ---------------------------------------------------------------


def test_merged_pull_requests_are_found_from_their_commits(
    emu: GitHubEmulator, small_repo: tuple[Path, list[str]]
) -> None:
    shas = small_repo[1]
    number = emu.add_pull_request(
        title="Add the API",
        body="Adds it.",
        labels=["feature"],
        author="monalisa",
        merge_commit_sha=shas[2],
        head_ref="api",
        commits=[shas[1]],
    )
    repo = client(emu).get_repo(REPO)
    for sha in (shas[1], shas[2]):
        pulls = list(repo.get_commit(sha).get_pulls())
        assert [(p.number, p.title, p.user.login, [lb.name for lb in p.labels]) for p in pulls] == [
            (number, "Add the API", "monalisa", ["feature"])
        ]
        assert pulls[0].merged_at is not None
    assert list(repo.get_commit(shas[0]).get_pulls()) == []
    status, _, listed = raw(emu, "GET", f"/repos/{REPO}/commits/{shas[2]}/pulls")
    assert (status, len(listed)) == (200, 1)
    conforms("PullRequestSimple", listed[0])
    assert [p.number for p in repo.get_pulls(state="closed")] == [number]


def test_tags_refs_and_releases(emu: GitHubEmulator, small_repo: tuple[Path, list[str]]) -> None:
    shas = small_repo[1]
    repo = client(emu).get_repo(REPO)
    assert [(t.name, t.commit.sha) for t in repo.get_tags()] == [("v1.1", shas[1]), ("v1.0", shas[0])]
    assert repo.get_git_ref("tags/v1.1").object.type == "tag"
    assert [r.ref for r in repo.get_git_matching_refs("tags/v1")] == ["refs/tags/v1.0", "refs/tags/v1.1"]
    status, _, ref = raw(emu, "GET", f"/repos/{REPO}/git/ref/heads/main")
    conforms("GitRef", ref)
    status, _, tags = raw(emu, "GET", f"/repos/{REPO}/tags")
    conforms("Tag", tags[0])

    emu.add_release("v1.0", body="Old notes")
    newest = emu.add_release("v1.1", body="Notes")
    latest = repo.get_latest_release()
    assert (latest.id, latest.tag_name, latest.body) == (newest, "v1.1", "Notes")
    assert repo.get_release("v1.0").body == "Old notes"
    latest.update_release(name="v1.1", message="New notes")
    assert [r.body for r in emu.releases] == ["Old notes", "New notes"]
    status, _, body = raw(emu, "PATCH", f"/repos/{REPO}/releases/{newest}", {"body": "x" * 125_001})
    assert (status, body["message"]) == (422, "Validation Failed")
    assert body["errors"][0]["message"] == "body is too long (maximum is 125000 characters)"
    conforms("Release", raw(emu, "GET", f"/repos/{REPO}/releases/{newest}")[2])
    assert raw(emu, "GET", f"/repos/{REPO}/releases/tags/v9")[0] == 404


def test_a_ref_moves_forward_freely_and_backwards_only_when_forced(
    emu: GitHubEmulator, small_repo: tuple[Path, list[str]]
) -> None:
    shas = small_repo[1]
    repo = client(emu).get_repo(REPO)
    repo.create_git_ref("refs/heads/work", shas[0])
    [ref] = [r for r in repo.get_git_matching_refs("heads/work") if r.ref == "refs/heads/work"]
    ref.edit(shas[2])  # a fast-forward
    assert emu.git.ref_sha("refs/heads/work") == shas[2]
    status, _, body = raw(emu, "PATCH", f"/repos/{REPO}/git/refs/heads/work", {"sha": shas[1]})
    assert (status, body["message"]) == (422, "Update is not a fast forward")
    status, _, body = raw(emu, "PATCH", f"/repos/{REPO}/git/refs/heads/work", {"sha": shas[1], "force": True})
    assert status == 200
    conforms("GitRef", body)
    assert emu.git.ref_sha("refs/heads/work") == shas[1]
    status, _, body = raw(emu, "PATCH", f"/repos/{REPO}/git/refs/heads/nope", {"sha": shas[1]})
    assert (status, body["message"]) == (422, "Reference does not exist")


def test_repository_branch_and_rate_limit_match_githubs_schemas(emu: GitHubEmulator) -> None:
    status, headers, body = raw(emu, "GET", f"/repos/{REPO}")
    conforms("FullRepository", body)
    assert (body["full_name"], body["default_branch"], body["permissions"]["push"]) == (REPO, "main", True)
    assert re.fullmatch(r"[0-9A-F:]+", headers["x-github-request-id"])
    assert headers["x-ratelimit-resource"] == "core"
    conforms("BranchWithProtection", raw(emu, "GET", f"/repos/{REPO}/branches/main")[2])
    before = int(headers["x-ratelimit-remaining"])
    status, _, limits = raw(emu, "GET", "/rate_limit")
    assert status == 200
    conforms("RateLimitOverview", limits)
    assert limits["resources"]["core"]["remaining"] == before - 1


# --- GraphQL -------------------------------------------------------------------------------------------

HISTORY = """
query($after: String, $path: String) {
  rateLimit { cost remaining resetAt }
  repository(owner: "octo-org", name: "widgets") {
    nameWithOwner url
    defaultBranchRef { name target { oid ... on Commit {
      history(first: 100, after: $after, path: $path) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes {
          oid messageHeadline messageBody committedDate authoredDate url
          author { name email date user { login } }
          parents(first: 2) { totalCount nodes { oid } }
          associatedPullRequests(first: 5) {
            nodes { number title body url mergedAt author { login } labels(first: 10) { nodes { name } } }
          }
        }
      }
    } } }
  }
}
"""


def test_graphql_history_pages_and_finds_pull_requests(long_repo: tuple[Path, list[str]]) -> None:
    bare, shas = long_repo
    with GitHubEmulator(bare) as emu:
        emu.add_pull_request(
            number=42,
            title="Speed it up",
            body="Faster.",
            labels=["perf", "feature"],
            author="github-actions[bot]",
            merge_commit_sha=shas[140],
        )
        gh = client(emu)
        _, first = gh.requester.graphql_query(HISTORY, {"after": None, "path": None})
        repository = first["data"]["repository"]
        assert repository["nameWithOwner"] == REPO
        history = repository["defaultBranchRef"]["target"]["history"]
        assert (history["totalCount"], history["pageInfo"]["hasNextPage"], len(history["nodes"])) == (
            150,
            True,
            100,
        )
        _, second = gh.requester.graphql_query(
            HISTORY, {"after": history["pageInfo"]["endCursor"], "path": None}
        )
        rest = second["data"]["repository"]["defaultBranchRef"]["target"]["history"]
        assert rest["pageInfo"]["hasNextPage"] is False
        assert [n["oid"] for n in history["nodes"] + rest["nodes"]] == shas[::-1]

        node = history["nodes"][9]
        assert node["oid"] == shas[140]
        assert (node["messageHeadline"], node["committedDate"]) == (
            "feat: change 140",
            "2024-01-01T02:20:00Z",
        )
        assert node["parents"] == {"totalCount": 1, "nodes": [{"oid": shas[139]}]}
        pull = node["associatedPullRequests"]["nodes"][0]
        assert (pull["number"], pull["author"]["login"], pull["url"]) == (
            42,
            "github-actions",
            f"{emu.base_url}/{REPO}/pull/42",
        )
        assert [label["name"] for label in pull["labels"]["nodes"]] == ["perf", "feature"]
        assert history["nodes"][0]["associatedPullRequests"]["nodes"] == []
        assert first["data"]["rateLimit"]["cost"] == 1

        _, by_path = gh.requester.graphql_query(HISTORY, {"after": None, "path": "src/file0.txt"})
        filtered = by_path["data"]["repository"]["defaultBranchRef"]["target"]["history"]
        assert filtered["totalCount"] == 30
        assert [n["oid"] for n in filtered["nodes"]] == shas[::5][::-1]
        assert [r.path for r in emu.requests] == ["/graphql"] * 3


def test_graphql_errors_look_like_githubs(emu: GitHubEmulator) -> None:
    too_many = graphql(
        emu,
        '{ repository(owner: "octo-org", name: "widgets") { defaultBranchRef { target {'
        " ... on Commit { history(first: 101) { nodes { oid } } } } } } }",
    )
    assert "data" not in too_many
    assert too_many["errors"][0]["type"] == "EXCESSIVE_PAGINATION"
    assert too_many["errors"][0]["message"] == (
        "Requesting 101 records on the `history` connection exceeds the `first` limit of 100 records."
    )

    missing = graphql(emu, '{ repository(owner: "octo-org", name: "nope") { nameWithOwner } }')
    assert missing["data"] == {"repository": None}
    assert missing["errors"][0]["type"] == "NOT_FOUND"
    assert missing["errors"][0]["path"] == ["repository"]
    assert (
        missing["errors"][0]["message"] == "Could not resolve to a Repository with the name 'octo-org/nope'."
    )

    with pytest.raises(github.UnknownObjectException):
        client(emu).requester.graphql_query('{ repository(owner: "x", name: "y") { url } }', {})
    status, _, body = raw(emu, "POST", "/graphql", {"query": "{ rateLimit { cost } }"}, token="wrong")
    assert (status, body["message"]) == (401, "Bad credentials")


def test_graphql_reads_blobs_refs_and_tags(emu: GitHubEmulator, small_repo: tuple[Path, list[str]]) -> None:
    shas = small_repo[1]
    data = graphql(
        emu,
        """{ repository(owner: "OCTO-ORG", name: "widgets") {
        ref(qualifiedName: "refs/heads/main") { name target { oid ... on Commit { messageHeadline } } }
        object(expression: "main:README.md") { oid ... on Blob { text byteSize isTruncated } }
        missing: object(expression: "main:nope.md") { oid }
        refs(refPrefix: "refs/tags/", first: 100, orderBy: {field: TAG_COMMIT_DATE, direction: DESC}) {
          pageInfo { hasNextPage endCursor }
          nodes { name target { oid ... on Tag { target { oid } } ... on Commit { committedDate } } }
        } } }""",
    )["data"]["repository"]
    assert data["ref"] == {"name": "main", "target": {"oid": shas[2], "messageHeadline": "feat(api): third"}}
    assert data["object"]["text"] == "hello\nworld\n"
    assert (data["object"]["byteSize"], data["object"]["isTruncated"], data["missing"]) == (12, False, None)
    assert [n["name"] for n in data["refs"]["nodes"]] == ["v1.1", "v1.0"]
    assert data["refs"]["nodes"][0]["target"]["target"] == {"oid": shas[1]}
    assert data["refs"]["nodes"][1]["target"] == {"oid": shas[0], "committedDate": "2024-01-01T00:00:00Z"}


ASSOCIATED = """query($sha: GitObjectID!) { repository(owner: "octo-org", name: "widgets") {
  object(oid: $sha) { ... on Commit { associatedPullRequests(first: 10) { nodes {
    number state merged baseRefName mergeCommit { oid } author { __typename login } } } } } } }"""


def test_a_commit_is_associated_with_every_pr_that_holds_it_oldest_first(
    emu: GitHubEmulator, small_repo: tuple[Path, list[str]]
) -> None:
    shas = small_repo[1]
    emu.add_pull_request(number=4, title="Open", body="", commits=[shas[1]], state="open")
    emu.add_pull_request(
        number=5, title="Other base", body="", merge_commit_sha=shas[2], base="v1.x", commits=[shas[1]]
    )
    emu.add_pull_request(
        number=6, title="Bump", body="", merge_commit_sha=shas[2], commits=[shas[1]], author="dependabot[bot]"
    )
    nodes = graphql(emu, ASSOCIATED, {"sha": shas[1]})["data"]["repository"]["object"]
    found = [
        (n["number"], n["state"], n["merged"], n["baseRefName"], (n["mergeCommit"] or {}).get("oid"))
        for n in nodes["associatedPullRequests"]["nodes"]
    ]
    assert found == [
        (4, "OPEN", False, "main", None),
        (5, "MERGED", True, "v1.x", shas[2]),
        (6, "MERGED", True, "main", shas[2]),
    ]
    # GraphQL names an app without REST's "[bot]" suffix, and says it is a Bot.
    assert nodes["associatedPullRequests"]["nodes"][2]["author"] == {
        "__typename": "Bot",
        "login": "dependabot",
    }
    first_one = ASSOCIATED.replace("first: 10", "first: 1")
    only = graphql(emu, first_one, {"sha": shas[1]})["data"]["repository"]["object"]
    assert [n["number"] for n in only["associatedPullRequests"]["nodes"]] == [4]  # release-drafter#1354


def test_a_merge_commits_pr_holds_what_its_other_parent_brought_in(tmp_path: Path) -> None:
    bare = tmp_path / "repo.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, capture_output=True)

    def git(*args: str) -> str:
        env = {
            "GIT_AUTHOR_NAME": "A",
            "GIT_AUTHOR_EMAIL": "a@example.test",
            "GIT_COMMITTER_NAME": "A",
            "GIT_COMMITTER_EMAIL": "a@example.test",
            "PATH": "/usr/bin:/bin",
        }
        return subprocess.run(
            ["git", "-C", str(work), *args], check=True, capture_output=True, text=True, env=env
        ).stdout.strip()

    git("commit", "-q", "--allow-empty", "-m", "root")
    git("checkout", "-q", "-b", "topic")
    branch = [
        git("commit", "-q", "--allow-empty", "-m", f"topic {n}") or git("rev-parse", "HEAD") for n in (1, 2)
    ]
    git("checkout", "-q", "main")
    git("merge", "-q", "--no-ff", "-m", "Merge pull request #1 from o/topic", "topic")
    merge = git("rev-parse", "HEAD")
    git("push", "-q", "origin", "main")
    with GitHubEmulator(bare) as running:
        running.add_pull_request(number=1, title="Topic", body="", merge_commit_sha=merge)
        for sha in [*branch, merge]:
            nodes = graphql(running, ASSOCIATED, {"sha": sha})["data"]["repository"]["object"]
            assert [n["number"] for n in nodes["associatedPullRequests"]["nodes"]] == [1]
        assert running.all_pull_requests[0].commits == branch


@pytest.mark.parametrize("status", [502, 504, 200])
def test_a_history_page_over_the_limit_times_out_like_githubs(emu: GitHubEmulator, status: int) -> None:
    emu.graphql_max_history_page = 2
    emu.graphql_timeout_status = status
    query = (
        '{ repository(owner: "octo-org", name: "widgets") '
        '{ object(expression: "main") { ... on Commit {%s} } } }'
    )
    small = graphql(emu, query % "history(first: 2) { nodes { oid } }")
    assert len(small["data"]["repository"]["object"]["history"]["nodes"]) == 2
    code, _, body = raw(emu, "POST", "/graphql", {"query": query % "history(first: 3) { nodes { oid } }"})
    assert code == status
    assert body["data"] is None
    assert body["errors"][0]["message"].startswith("Something went wrong while executing your query.")


def test_a_spent_limit_is_answered_as_github_documents(emu: GitHubEmulator) -> None:
    emu.rate_limit = 1
    assert raw(emu, "GET", f"/repos/{REPO}")[0] == 200
    status, headers, body = raw(emu, "GET", f"/repos/{REPO}")
    assert (status, headers["x-ratelimit-remaining"], headers["x-ratelimit-reset"]) == (
        403,
        "0",
        str(emu.rate_reset),
    )
    assert body["message"].startswith("API rate limit exceeded")
    assert raw(emu, "POST", "/graphql", {"query": "{ rateLimit { remaining } }"})[0] == 200
    status, headers, body = raw(emu, "POST", "/graphql", {"query": "{ rateLimit { remaining } }"})
    assert (status, headers["x-ratelimit-remaining"]) == (200, "0")
    assert body == {"errors": [{"type": "RATE_LIMITED", "message": body["errors"][0]["message"]}]}
    assert body["errors"][0]["message"].startswith("API rate limit exceeded")


# --- faults --------------------------------------------------------------------------------------------


def test_a_burst_of_server_errors_is_retried_by_github_retry(emu: GitHubEmulator) -> None:
    emu.add_fault(Fault("server_error", method="GET", path=r"/contents/README\.md$", times=2, status=500))
    readme = client(emu).get_repo(REPO).get_contents("README.md")
    assert not isinstance(readme, list)
    assert readme.decoded_content == b"hello\nworld\n"
    assert [r.status for r in emu.requests if r.path.endswith("README.md")] == [500, 500, 200]
    assert raw(emu, "GET", f"/repos/{REPO}/contents/README.md")[0] == 200


def test_a_secondary_rate_limit_is_waited_out(emu: GitHubEmulator) -> None:
    emu.add_fault(Fault("rate_limit", path=r"/contents/", retry_after=1))
    started = time.monotonic()
    readme = client(emu).get_repo(REPO).get_contents("README.md")
    assert not isinstance(readme, list)
    assert time.monotonic() - started >= 1
    assert [r.status for r in emu.requests if "/contents/" in r.path] == [403, 200]

    emu.add_fault(Fault("rate_limit", retry_after=7, status=429))
    status, headers, body = raw(emu, "GET", f"/repos/{REPO}")
    assert (status, headers["retry-after"]) == (429, "7")
    assert body["message"].startswith("You have exceeded a secondary rate limit.")


def test_a_primary_rate_limit_says_when_it_resets(emu: GitHubEmulator) -> None:
    emu.add_fault(Fault("rate_limit", reset_in=30))
    status, headers, body = raw(emu, "GET", f"/repos/{REPO}")
    assert status == 403
    assert headers["x-ratelimit-remaining"] == "0"
    assert 20 < int(headers["x-ratelimit-reset"]) - time.time() <= 31
    assert body["message"].startswith("API rate limit exceeded for installation ID")
    with pytest.raises(github.RateLimitExceededException):
        emu.add_fault(Fault("rate_limit", reset_in=3600))
        client(emu, retry=None).get_repo(REPO)


@pytest.mark.parametrize(
    ("fault", "status", "message"),
    [
        (Fault("forbidden"), 403, "Resource not accessible by integration"),
        (Fault("not_found"), 404, "Not Found"),
        (Fault("server_error", status=503), 503, "Service Unavailable"),
    ],
)
def test_simple_faults(emu: GitHubEmulator, fault: Fault, status: int, message: str) -> None:
    emu.add_fault(fault)
    answer = raw(emu, "GET", f"/repos/{REPO}")
    assert (answer[0], answer[2]["message"]) == (status, message)
    assert raw(emu, "GET", f"/repos/{REPO}")[0] == 200


def test_faults_can_skip_requests_and_run_slow(emu: GitHubEmulator) -> None:
    emu.add_fault(Fault("not_found", path="/branches/", after=1, times=1))
    emu.add_fault(Fault("slow", path="/tags$", delay=0.3))
    statuses = [raw(emu, "GET", f"/repos/{REPO}/branches/main")[0] for _ in range(3)]
    assert statuses == [200, 404, 200]
    started = time.monotonic()
    assert raw(emu, "GET", f"/repos/{REPO}/tags")[0] == 200
    assert time.monotonic() - started >= 0.3
    emu.clear_faults()
    emu.reset_requests()
    assert emu.requests == []


def test_a_conflict_fault_loses_the_race_like_github(
    emu: GitHubEmulator, small_repo: tuple[Path, list[str]]
) -> None:
    bare, shas = small_repo
    emu.add_fault(Fault("conflict", path="/contents/README.md"))
    repo = client(emu).get_repo(REPO)
    readme = repo.get_contents("README.md")
    assert not isinstance(readme, list)
    with pytest.raises(GithubException) as lost:
        repo.update_file("README.md", "docs: notes", "mine\n", readme.sha)
    interloper = git_log(bare)[0]
    assert lost.value.status == 409
    assert lost.value.data["message"] == f"is at {interloper} but expected {shas[-1]}"
    assert git_log(bare)[1] == shas[-1]

    fresh = repo.get_contents("README.md")
    assert not isinstance(fresh, list)
    assert fresh.sha != readme.sha
    repo.update_file("README.md", "docs: notes", "mine\n", fresh.sha)
    assert _git(bare, "show", "main:README.md") == "mine\n"
    fsck(bare)


def test_ten_concurrent_writers_never_lose_an_update(
    emu: GitHubEmulator, small_repo: tuple[Path, list[str]]
) -> None:
    bare, _ = small_repo
    before = len(git_log(bare))
    start = threading.Barrier(10)
    outcomes: list[int] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        repo = client(emu, lazy=True).get_repo(REPO)
        start.wait()
        for _ in range(40):  # the loop a careful client runs: re-read the sha after every 409
            try:
                current = repo.get_contents("CHANGELOG.md")
            except github.UnknownObjectException:
                current = None
            assert not isinstance(current, list)
            text = (current.decoded_content if current else b"").decode() + f"writer {n}\n"
            try:
                if current is None:
                    repo.create_file("CHANGELOG.md", f"writer {n}", text)
                else:
                    repo.update_file("CHANGELOG.md", f"writer {n}", text, current.sha)
            except GithubException as err:
                with lock:
                    outcomes.append(err.status)
                assert err.status in (409, 422)
                continue
            with lock:
                outcomes.append(200)
            return
        raise AssertionError(f"writer {n} never got its change in")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    puts = [r for r in emu.requests if r.method == "PUT"]
    successes = [r for r in puts if r.status in (200, 201)]
    assert len(successes) == outcomes.count(200) == 10
    assert {r.status for r in puts} <= {200, 201, 409, 422}
    assert len(git_log(bare)) == before + len(successes)
    lines = _git(bare, "show", "main:CHANGELOG.md").splitlines()
    assert sorted(lines) == sorted(f"writer {n}" for n in range(10))
    fsck(bare)


def test_concurrent_puts_with_the_same_sha_let_exactly_one_through(
    emu: GitHubEmulator, small_repo: tuple[Path, list[str]]
) -> None:
    bare, _ = small_repo
    before = len(git_log(bare))
    sha = _git(bare, "rev-parse", "main:README.md").strip()
    start = threading.Barrier(10)
    statuses: list[int] = []

    def write(n: int) -> None:
        content = base64.b64encode(f"writer {n}\n".encode()).decode()
        start.wait()
        status = raw(
            emu,
            "PUT",
            f"/repos/{REPO}/contents/README.md",
            {"message": f"writer {n}", "content": content, "sha": sha},
        )[0]
        statuses.append(status)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200] + [409] * 9
    assert len(git_log(bare)) == before + 1


# --- other layouts -------------------------------------------------------------------------------------


def test_the_enterprise_server_layout_works(emu: GitHubEmulator) -> None:
    gh = github.Github(
        auth=Auth.Token("test-token"),
        base_url=emu.base_url + "/api/v3",
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    repo = gh.get_repo(REPO)
    assert repo.url == f"{emu.base_url}/api/v3/repos/{REPO}"
    assert repo.get_commits()[0].commit.message == "feat(api): third"
    _, data = gh.requester.graphql_query("{ rateLimit { remaining } }", {})
    assert data["data"]["rateLimit"]["remaining"] > 0
    assert emu.requests[-1].path == "/api/graphql"


def test_the_command_line_serves_a_clone(tmp_path: Path, small_repo: tuple[Path, list[str]]) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(small_repo[0]), str(clone)], check=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.github_server", "--repo", str(clone), "--token", "cli-token"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 15)
        assert ready, "the emulator printed no base URL"
        base_url = proc.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        gh = github.Github(auth=Auth.Token("cli-token"), base_url=base_url, seconds_between_requests=0)
        repo = gh.get_repo("anyone/anything")
        assert repo.full_name == "anyone/anything"
        assert repo.get_commits()[0].sha == small_repo[1][-1]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
