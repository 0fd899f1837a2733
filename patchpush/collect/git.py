"""Collect from a local clone with `git`: one `git log` streamed and parsed as it arrives."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

from patchpush.collect import RangeRequest
from patchpush.collect.conventional import is_excluded_author, is_own_commit, parse
from patchpush.collect.selection import choose
from patchpush.errors import CollectError
from patchpush.models import Change, ChangeSet

# Fields split by US (0x1f), commits by NUL (-z): neither occurs in commit messages git accepts.
_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%B"


class GitSource:
    """`ChangeSource` over a working clone or bare repository at `repo`."""

    def __init__(self, *, repo: Path, repository: str = "", web_url: str | None = None) -> None:
        self._repo = repo
        self._repository = repository or repo.resolve().name
        self._web_url = web_url

    def changes(self, request: RangeRequest) -> ChangeSet:
        head_ref = request.until or request.branch or "HEAD"
        head = self._resolve(head_ref, what="until" if request.until else "branch")
        head_tag = self._tag_at(head)
        base = self._base(request, head, head_tag)
        span = f"{base}..{head}" if base else head
        args = ["log", "-z", f"--format={_FORMAT}", f"--max-count={request.max_commits + 1}"]
        if request.since.kind == "date" and request.since.date is not None:
            args.append(f"--since={request.since.date.isoformat()}")
        raw = self._log([*args, span])
        truncated = len(raw) > request.max_commits
        raw = raw[: request.max_commits]
        self._refuse_shallow(raw)
        raw = self._with_own_files(raw)
        touching = None
        if request.include_paths or request.exclude_paths:
            touching = self._touching(args[3:], span, request)
        chosen = choose(raw, request, touching=touching)
        return ChangeSet(
            repository=self._repository,
            head=head,
            base=base,
            changes=tuple(with_files(self._repo, list(chosen.changes))),
            web_url=self._web_url,
            head_tag=head_tag,
            truncated=truncated,
            excluded=len(chosen.left_out),
            newest=chosen.newest,
            left_out=chosen.left_out,
            new_contributors=first_time_authors(self._repo, raw, request, base=base),
        )

    def _touching(self, limits: list[str], span: str, request: RangeRequest) -> set[str]:
        """Commits that change a wanted path. Every commit of the range is still read, so that a
        pull request keeps its item when any of its commits touches the paths (issue 8)."""
        specs = _pathspecs(request.include_paths, request.exclude_paths)
        args = ["log", "--full-history", "--no-merges", "--format=%H", *limits, span, "--", *specs]
        return set(self._git(args).split())

    def _refuse_shallow(self, raw: list[Change]) -> None:
        """A range that reaches past a shallow clone's boundary would be described as if it were whole."""
        shallow = Path(self._git(["rev-parse", "--path-format=absolute", "--git-path", "shallow"]))
        if not shallow.is_file():
            return
        boundary = set(shallow.read_text(encoding="ascii", errors="replace").split())
        cut = next((c.sha for c in raw if c.sha in boundary), None)
        if cut is not None:
            raise CollectError(
                f"the clone is shallow and the range reaches past its oldest commit {cut[:7]}",
                "run `git fetch --unshallow`, or set `fetch-depth: 0` on actions/checkout",
            )

    def _with_own_files(self, raw: list[Change]) -> list[Change]:
        """The files of commits carrying our trailer: only those changing the notes file alone are ours."""
        marked = [c.sha for c in raw if is_own_commit(c.body)]
        if not marked:
            return raw
        out = self._git(["log", "--no-walk=unsorted", "--format=%x1e%H", "--name-only", *marked], strip=False)
        files: dict[str, tuple[str, ...]] = {}
        for record in out.split("\x1e")[1:]:
            sha, *paths = record.split()
            files[sha] = tuple(paths)
        return [dataclasses.replace(c, files=files[c.sha]) if files.get(c.sha) else c for c in raw]

    def _base(self, request: RangeRequest, head: str, head_tag: str | None) -> str | None:
        since = request.since
        if since.kind == "ref" and since.ref:
            return self._resolve(since.ref, what="since")
        if since.kind == "date":
            return None
        if request.last_described and self._is_ancestor(request.last_described, head):
            return request.last_described
        return self._previous_tag(head, head_tag)

    def _previous_tag(self, head: str, head_tag: str | None) -> str | None:
        """The newest tag below `head` (a tag on `head` itself is this release, not the last one)."""
        start = f"{head}^" if head_tag else head
        found = self._git(["describe", "--tags", "--abbrev=0", start], check=False)
        return self._resolve(found, what="tag") if found else None

    def _tag_at(self, sha: str) -> str | None:
        tags = self._git(["tag", "--points-at", sha, "--sort=-v:refname"], check=False)
        return tags.splitlines()[0] if tags else None

    def _is_ancestor(self, ancestor: str, head: str) -> bool:
        result = subprocess.run(
            ["git", "-C", str(self._repo), "merge-base", "--is-ancestor", ancestor, head],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0

    def _resolve(self, ref: str, *, what: str) -> str:
        sha = self._git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], check=False)
        if not sha:
            raise CollectError(
                f"input '{what}' names '{ref}', which is not a commit, tag or branch in {self._repository}",
                "check the name; in a shallow checkout use `fetch-depth: 0`",
            )
        return sha

    def _log(self, args: list[str]) -> list[Change]:
        """Parse records while git is still writing them, so git's time and ours overlap."""
        try:
            process = subprocess.Popen(
                ["git", "-C", str(self._repo), *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise CollectError(
                "git is not installed", "install git, or run patch-push as the action"
            ) from exc
        assert process.stdout is not None and process.stderr is not None
        changes: list[Change] = []
        pending = b""
        while chunk := process.stdout.read1(1 << 20):  # type: ignore[attr-defined]
            records = (pending + chunk).split(b"\0")
            pending = records.pop()
            changes.extend(_record(r) for r in records if r.strip())
        if pending.strip():
            changes.append(_record(pending))
        error = process.stderr.read().decode("utf-8", "replace")
        if process.wait() != 0:
            first = (error.strip().splitlines() or ["unknown error"])[0]
            raise CollectError(f"git log failed in {self._repo}: {first}")
        return changes

    def _git(self, args: list[str], *, check: bool = True, strip: bool = True) -> str:
        try:
            result = subprocess.run(
                ["git", "-C", str(self._repo), *args],
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                check=False,
            )
        except FileNotFoundError as exc:
            raise CollectError(
                "git is not installed", "install git, or run patch-push as the action"
            ) from exc
        if result.returncode != 0 and check:
            first = (result.stderr.strip().splitlines() or ["unknown error"])[0]
            if "not a git repository" in result.stderr:
                raise CollectError(
                    f"{self._repo} is not a git repository", "run inside a clone or pass --repo"
                )
            raise CollectError(f"git {args[0]} failed in {self._repo}: {first}")
        if result.returncode != 0:
            return ""
        return result.stdout.strip() if strip else result.stdout


def _record(raw: bytes) -> Change:
    sha, parents, name, email, date, message = raw.decode("utf-8", "replace").lstrip("\n").split("\x1f", 5)
    return parse(
        sha=sha,
        message=message,
        author_name=name,
        author_email=email,
        date=date,
        parents=tuple(parents.split(" ")) if parents else (),
    )


def _pathspecs(include: tuple[str, ...], exclude: tuple[str, ...]) -> list[str]:
    """Globs as git pathspecs, so git itself keeps only commits touching the wanted paths."""

    def globs(pattern: str) -> list[str]:
        pattern = pattern.strip().rstrip("/") or "**"
        if re.search(r"[*?\[]", pattern):
            return [pattern]
        # A plain name is a file or a directory, as in .gitignore.
        return [pattern, f"{pattern}/**"]

    specs = [f":(glob){g}" for p in include for g in globs(p)]
    specs += [f":(glob,exclude){g}" for p in exclude for g in globs(p)]
    if exclude and not include:
        specs.insert(0, ".")
    return specs


# Paths tell the notes what an untyped commit is (docs only, tests only; #11). One `git diff-tree`
# for all of them; past this many the range is a bulk import, and the cost would show (bench/offline.py).
MAX_FILES_LOOKUP = 500


def with_files(repo: Path, changes: list[Change]) -> list[Change]:
    """Fill `Change.files` for the commits whose message has no Conventional Commit type.

    A PR merge commit's files are its diff against the first parent: what the pull request brought.
    """
    wanted = [c for c in changes if c.type is None and not c.files]
    if not wanted or len(wanted) > MAX_FILES_LOOKUP:
        return changes
    lines = "".join(f"{c.sha} {c.parents[0]}\n" if c.parents else f"{c.sha}\n" for c in wanted)
    try:
        result = subprocess.run(
            [
                "git",
                "-C",
                str(repo),
                "diff-tree",
                "--stdin",
                "-r",
                "--name-only",
                "-z",
                "--no-renames",
                "--root",
            ],
            input=lines.encode(),
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        return changes
    if result.returncode != 0:
        return changes  # the files only refine the sections; the notes do not depend on them
    files: dict[str, list[str]] = {}
    expected = {c.sha for c in wanted}
    current: list[str] | None = None
    for token in result.stdout.decode("utf-8", "replace").split("\0"):
        if token in expected and token not in files:
            current = files[token] = []
        elif token and current is not None:
            current.append(token)
    return [dataclasses.replace(c, files=tuple(files[c.sha])) if files.get(c.sha) else c for c in changes]


def first_time_authors(
    repo: Path, raw: list[Change], request: RangeRequest, *, base: str | None
) -> tuple[str, ...]:
    """Authors of the range (by mailmapped e-mail) with no commit before it, oldest first (#11).

    `raw` is every commit of the range, a pull request's own commits included (its merge commit's
    author is usually whoever merged it). One `git log` of the e-mails before the range; nothing
    when the range starts at the root.
    """
    since = request.since
    if base:
        before = [base]
    elif since.kind == "date" and since.date is not None and raw:
        before = [f"--before={since.date.isoformat()}", raw[-1].sha]
    else:
        return ()  # the whole history: everyone would be new, which tells nobody anything
    excluded = {a.lower() for a in request.exclude_authors}
    changes = [
        c
        for c in raw
        if not is_own_commit(c.body)
        and not (excluded and is_excluded_author(excluded, c.author_login, c.author_name, c.author_email))
    ]
    shallow = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--is-shallow-repository"], capture_output=True, check=False
    )
    if shallow.stdout.strip() != b"false":
        return ()  # a shallow clone lacks the history before the range: everyone would look new
    result = subprocess.run(
        ["git", "-C", str(repo), "log", "--use-mailmap", "--format=%aE", *before, "--"],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        return ()
    known = set(result.stdout.decode("utf-8", "replace").lower().split())
    found: dict[str, str] = {}
    for change in reversed(changes):
        email = change.author_email.lower()
        if email and email not in known and email not in found:
            found[email] = change.author_login or change.author_name
    return tuple(dict.fromkeys(who for who in found.values() if who))
