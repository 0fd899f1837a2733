"""Git plumbing for the GitHub emulator: every read and write goes through `git --git-dir=BARE`.

Writes never touch a work tree: a blob is hashed into the object store, a tree is built in a throw-away
index (GIT_INDEX_FILE), `commit-tree` makes the commit and `update-ref NEW OLD` moves the branch only if
it still points where the writer started (compare-and-swap, as GitHub's own ref updates do).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ZERO_SHA = "0" * 40
_FIELDS = "%H%x00%T%x00%P%x00%an%x00%ae%x00%at%x00%cn%x00%ce%x00%ct%x00%B"


class GitError(RuntimeError):
    """A git command failed."""


@dataclass(frozen=True)
class Identity:
    name: str
    email: str
    epoch: int  # seconds since the epoch, UTC

    @property
    def iso(self) -> str:
        return iso_utc(self.epoch)


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Identity
    committer: Identity
    message: str


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    type: str  # blob, tree, commit (submodule)
    sha: str
    size: int  # -1 for trees and submodules
    path: str


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str  # added, removed, modified, renamed, copied, changed
    sha: str | None  # blob sha after the change (None when removed)
    additions: int
    deletions: int
    patch: str | None
    previous_filename: str | None


@dataclass(frozen=True)
class RefInfo:
    name: str  # refs/tags/v1.0
    sha: str  # the object the ref points at (a tag object for annotated tags)
    type: str  # commit or tag
    peeled: str  # the commit it ends at
    date: int  # tagger date for annotated tags, committer date otherwise


def iso_utc(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitRepo:
    """A bare repository driven by git subprocesses; safe to share between threads."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self._commit_cache: dict[str, CommitInfo] = {}
        self._cache_lock = threading.Lock()
        self._warm = False

    def run(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
        full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
        proc = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *args],
            input=stdin,
            capture_output=True,
            env=full_env,
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout

    def _try(self, *args: str) -> bytes | None:
        try:
            return self.run(*args)
        except GitError:
            return None

    # --- reading -------------------------------------------------------------------------------------

    def default_branch(self) -> str | None:
        out = self._try("symbolic-ref", "--quiet", "HEAD")
        if out is None:
            return None
        return out.decode().strip().removeprefix("refs/heads/")

    def resolve_commit(self, ref: str) -> str | None:
        """A branch, tag, full or abbreviated sha -> the commit sha, or None (branches win, as on GitHub)."""
        if not ref or ref.startswith("-") or "\n" in ref:
            return None
        with self._cache_lock:
            if ref in self._commit_cache:
                return ref
        candidates = [f"refs/heads/{ref}^{{commit}}", f"refs/tags/{ref}^{{commit}}", f"{ref}^{{commit}}"]
        out = self.run("cat-file", "--batch-check", stdin="\n".join(candidates).encode() + b"\n")
        for line in out.decode().splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[1] == "commit":
                return fields[0]
        return None

    def warm(self) -> None:
        """Read every commit reachable from any ref with one git process, so later look-ups are free."""
        if self._warm:
            return
        out = self.run("log", "--all", f"--format=%x1e{_FIELDS}")
        parsed = [_parse_commit(rec) for rec in out.decode(errors="replace").split("\x1e")[1:]]
        with self._cache_lock:
            self._commit_cache.update((c.sha, c) for c in parsed)
        self._warm = True

    def branch_head(self, branch: str) -> str | None:
        out = self._try("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
        return out.decode().strip() if out else None

    def object_info(self, expression: str) -> tuple[str, str, int] | None:
        """`main:docs/a.md` or a sha -> (sha, type, size), or None when it does not resolve."""
        if "\n" in expression or expression.startswith("-"):
            return None
        line = self.run("cat-file", "--batch-check", stdin=expression.encode() + b"\n").decode().strip()
        fields = line.split()
        if line.endswith((" missing", " ambiguous")) or len(fields) != 3:
            return None
        return fields[0], fields[1], int(fields[2])

    def cat(self, sha: str) -> bytes:
        return self.run("cat-file", "-p", sha)

    def tag_target(self, tag_sha: str) -> tuple[str, str]:
        """An annotated tag object -> (target sha, target type)."""
        fields = dict(
            line.split(" ", 1)
            for line in self.cat(tag_sha).decode(errors="replace").split("\n\n")[0].splitlines()
        )
        return fields["object"], fields["type"]

    def commits(self, shas: Sequence[str]) -> list[CommitInfo]:
        """Metadata of many commits with one git process (cached: commits never change)."""
        with self._cache_lock:
            missing = [s for s in dict.fromkeys(shas) if s not in self._commit_cache]
        if missing:
            out = self.run(
                "log",
                "--no-walk=unsorted",
                "--stdin",
                f"--format=%x1e{_FIELDS}",
                stdin="\n".join(missing).encode() + b"\n",
            )
            parsed = [_parse_commit(rec) for rec in out.decode(errors="replace").split("\x1e")[1:]]
            with self._cache_lock:
                self._commit_cache.update((c.sha, c) for c in parsed)
        with self._cache_lock:
            return [self._commit_cache[s] for s in shas]

    def commit(self, sha: str) -> CommitInfo:
        return self.commits([sha])[0]

    def rev_list(
        self,
        revs: Sequence[str],
        *,
        since: str | None = None,
        until: str | None = None,
        paths: Sequence[str] = (),
        skip: int = 0,
        limit: int | None = None,
        reverse: bool = False,
    ) -> list[str]:
        args = ["rev-list", *_range_args(since, until)]
        if skip:
            args.append(f"--skip={skip}")
        if limit is not None:
            args.append(f"--max-count={limit}")
        if reverse:
            args.append("--reverse")
        return self.run(*args, *revs, "--", *paths).decode().split()

    def count(
        self,
        revs: Sequence[str],
        *,
        since: str | None = None,
        until: str | None = None,
        paths: Sequence[str] = (),
    ) -> int:
        return int(
            self.run("rev-list", "--count", *_range_args(since, until), *revs, "--", *paths).strip() or 0
        )

    def merge_base(self, a: str, b: str) -> str | None:
        out = self._try("merge-base", a, b)
        return out.decode().strip() if out else None

    def ls_tree(self, commit: str, path: str, *, children: bool) -> list[TreeEntry]:
        """The entry at `path` (children=False) or the entries inside directory `path` (children=True)."""
        args = (
            ["ls-tree", "-l", "-z", f"{commit}:{path}"]
            if children
            else ["ls-tree", "-l", "-z", commit, "--", path]
        )
        out = self._try(*args)
        if out is None:
            return []
        entries = []
        for record in out.decode(errors="surrogateescape").split("\0"):
            if not record:
                continue
            meta, name = record.split("\t", 1)
            mode, kind, sha, size = meta.split()
            full = f"{path.rstrip('/')}/{name}".lstrip("/") if children else name
            entries.append(TreeEntry(mode, kind, sha, -1 if size == "-" else int(size), full))
        return entries

    def refs(self, prefix: str) -> list[RefInfo]:
        fmt = "%(refname)%00%(objectname)%00%(objecttype)%00%(*objectname)%00%(creatordate:unix)"
        out = self.run("for-each-ref", f"--format={fmt}", prefix).decode()
        result = []
        for line in out.splitlines():
            name, sha, kind, peeled, date = line.split("\0")
            result.append(RefInfo(name, sha, kind, peeled or sha, int(date or 0)))
        return result

    def diff(self, base: str | None, head: str, *, limit: int = 300) -> list[FileChange]:
        """Files changed from `base` (None: the empty tree) to `head`, as GitHub lists them."""
        revs = [base, head] if base else ["--root", head]
        common = ["diff-tree", "-r", "-M", "--no-commit-id"]
        everything = _parse_raw(self.run(*common, "-z", "--raw", *revs).decode(errors="surrogateescape"))
        entries = everything[:limit]
        # past the limit (GitHub lists 300 files), only diff the files that are listed
        paths = ["--", *dict.fromkeys(p for e in entries for p in e[1:3])] if len(everything) > limit else []
        numstat = self.run(*common, "-z", "--numstat", *revs, *paths).decode(errors="surrogateescape")
        patch = self.run(*common, "-p", "--no-color", *revs, *paths).decode(errors="replace")
        counts = _parse_numstat(numstat)
        patches = ["diff --git " + chunk for chunk in ("\n" + patch).split("\ndiff --git ")[1:]]
        changes = []
        for index, (status, old_path, new_path, new_sha) in enumerate(entries):
            added, deleted = counts[index] if index < len(counts) else (0, 0)
            body = patches[index] if index < len(patches) else ""
            hunk_at = body.find("\n@@")
            changes.append(
                FileChange(
                    filename=new_path,
                    status=status,
                    sha=None if status == "removed" else new_sha,
                    additions=added,
                    deletions=deleted,
                    patch=body[hunk_at + 1 :].rstrip("\n") if hunk_at >= 0 else None,
                    previous_filename=old_path if status in ("renamed", "copied") else None,
                )
            )
        return changes

    # --- writing -------------------------------------------------------------------------------------

    def write_blob(self, data: bytes) -> str:
        return self.run("hash-object", "-w", "--stdin", stdin=data).decode().strip()

    def commit_file(
        self,
        *,
        parent: str | None,
        path: str,
        data: bytes,
        mode: str,
        message: str,
        author: Identity,
        committer: Identity,
    ) -> str:
        """A new commit (not yet on any branch): `parent`'s tree with `path` set to `data`."""
        blob = self.write_blob(data)
        with tempfile.TemporaryDirectory(prefix="gh-emu-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if parent:
                self.run("read-tree", parent, env=env)
            self.run("update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
            tree = self.run("write-tree", env=env).decode().strip()
        parents = ["-p", parent] if parent else []
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_AUTHOR_DATE": f"@{author.epoch} +0000",
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
            "GIT_COMMITTER_DATE": f"@{committer.epoch} +0000",
        }
        return (
            self.run("commit-tree", tree, *parents, "-F", "-", stdin=message.encode(), env=env)
            .decode()
            .strip()
        )

    def update_ref(self, ref: str, new: str, old: str | None) -> bool:
        """Move `ref` to `new` only if it is still at `old` (None: only if it does not exist yet)."""
        try:
            self.run("update-ref", ref, new, old or ZERO_SHA)
        except GitError:
            return False
        return True

    def run_ok(self, *args: str) -> bool:
        """Whether a git command that answers by exit status (merge-base --is-ancestor) says yes."""
        try:
            self.run(*args)
        except GitError:
            return False
        return True

    def ref_sha(self, ref: str) -> str | None:
        out = self._try("rev-parse", "--verify", "--quiet", ref)
        return out.decode().strip() if out else None


def _range_args(since: str | None, until: str | None) -> list[str]:
    return ([f"--since={since}"] if since else []) + ([f"--until={until}"] if until else [])


def _parse_commit(record: str) -> CommitInfo:
    sha, tree, parents, an, ae, at, cn, ce, ct, body = record.split("\0", 9)
    return CommitInfo(
        sha=sha,
        tree=tree,
        parents=tuple(parents.split()),
        author=Identity(an, ae, int(at)),
        committer=Identity(cn, ce, int(ct)),
        message=body.rstrip("\n"),
    )


_STATUS = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "C": "copied", "T": "changed"}


def _parse_raw(raw: str) -> list[tuple[str, str, str, str]]:
    """`diff-tree --raw -z` -> [(status, old path, new path, new blob sha)]."""
    parts = raw.split("\0")
    entries = []
    i = 0
    while i < len(parts) and parts[i].startswith(":"):
        _, _, _, new_sha, letter = parts[i][1:].split()
        if letter[0] in "RC":
            entries.append((_STATUS[letter[0]], parts[i + 1], parts[i + 2], new_sha))
            i += 3
        else:
            entries.append((_STATUS.get(letter[0], "changed"), parts[i + 1], parts[i + 1], new_sha))
            i += 2
    return entries


def _parse_numstat(numstat: str) -> list[tuple[int, int]]:
    """`diff-tree --numstat -z` -> [(additions, deletions)]; renames carry two extra path fields."""
    parts = numstat.split("\0")
    counts = []
    i = 0
    while i < len(parts) and parts[i]:
        added, deleted, rest = parts[i].split("\t", 2)
        counts.append((int(added) if added != "-" else 0, int(deleted) if deleted != "-" else 0))
        i += 3 if rest == "" else 1
    return counts
