"""Random histories shaped like real GitHub repositories, built into real git repositories with
`git fast-import` (milliseconds per history), and what each commit must become in the notes.

Shapes: direct commits (typed, plain, breaking, bots, our own notes commits, a contributor's commit
carrying our trailer, release commits, fixups, reverts); pull requests merged with a merge commit (forked
several commits back, with back-merges of main, all-bot branches, GitHub's default message without a
title), squash-merged or rebase-merged; octopus merges; a long-lived `develop` branch collecting pull
requests and shipped to main again and again by a release or integration pull request; pull requests
reverted and merged again.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

EPOCH = 1_767_225_600
HUMAN = ("Alice Example", "alice@example.test")
OTHER = ("Bob Example", "bob@example.test")
BOT = ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")
NOTES_FILE = "ai_patch.md"
TRAILER = "Patch-Push-Notes: true"

_SUBJECTS = {
    "feat": "feat(api): add endpoint {n}",
    "fix": "fix: handle case {n}",
    "perf": "perf: speed up path {n}",
    "docs": "docs: explain option {n}",
    "plain": "Tidy module {n}",
    "breaking": "feat!: drop old flag {n}",
    "footer": "refactor: rename setting {n}\n\nBREAKING CHANGE: the old name {n} is gone",
    "bot": "chore(deps): bump lib{n} from 1.0 to 1.1",
    "own": "docs: update ai_patch.md",
    "own-plus": "fix: contributor change {n}",
    "release": "chore(main): release 1.{n}.0",
}
DIRECT = ("feat", "fix", "perf", "docs", "plain", "breaking", "footer", "bot", "own", "own-plus", "release")
BRANCH = ("feat", "fix", "perf", "docs", "plain", "breaking", "footer", "bot", "fixup")


@dataclass
class Pull:
    """A pull request as the GitHub emulator records it (tests/fakes/github_server.add_pull_request)."""

    number: int
    title: str | None
    author: str
    merge: int  # mark of its merge, squash or last rebased commit
    commits: list[int]
    head_ref: str


@dataclass
class History:
    path: Path
    shas: dict[int, str]
    # sha -> "shown", or the rule that must leave it out; commits not listed may go either way.
    expect: dict[str, str]
    # sha of a branch commit -> pull requests its item must cite (outermost first).
    cites: dict[str, tuple[int, ...]]
    pulls: list[Pull]


def steps() -> st.SearchStrategy[list[tuple[Any, ...]]]:
    pull = st.tuples(
        st.just("pr"),
        st.sampled_from(("merge", "merge", "squash", "rebase")),
        st.integers(0, 3),  # how many main commits back the branch forks
        st.lists(st.sampled_from(BRANCH), min_size=1, max_size=4),
        st.booleans(),  # back-merge main into the branch
        st.sampled_from(("typed", "plain", "default", "release")),
        st.booleans(),  # opened by a bot (all its commits by the bot)
    )
    step = st.one_of(
        st.tuples(st.just("commit"), st.sampled_from(DIRECT)),
        pull,
        st.tuples(st.just("octopus"), st.integers(2, 3)),
        st.tuples(
            st.just("develop"), st.lists(st.sampled_from(BRANCH[:7]), min_size=1, max_size=3), st.booleans()
        ),
        st.tuples(
            st.just("ship"), st.sampled_from(("Release v{n}", "Merge develop into main", "Ship batch {n}"))
        ),
        st.tuples(st.just("revert"), st.booleans()),
    )
    return st.lists(step, min_size=1, max_size=10)


def build(path: Path, plan: list[tuple[Any, ...]]) -> History:
    builder = _Builder(path)
    try:
        for step in plan:
            getattr(builder, "step_" + step[0])(*step[1:])
        return builder.finish()
    finally:
        if builder.proc.poll() is None:
            builder.proc.kill()


class _Builder:
    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
        self.path = path
        self.marks_file = path / ".git" / "marks"
        self.proc = subprocess.Popen(
            ["git", "-C", str(path), "fast-import", "--quiet", "--done", f"--export-marks={self.marks_file}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.mark = 0
        self.n = 0
        self.main: list[int] = []
        self.subject: dict[int, str] = {}
        self.expect: dict[int, str] = {}
        self.cites: dict[int, tuple[int, ...]] = {}
        self.pulls: list[Pull] = []
        self.pr_commits: dict[int, list[int]] = {}
        self.last_pr: tuple[int, int] | None = None
        self.last_direct: int | None = None
        self.develop: list[int] = []
        self.unshipped: list[int] = []
        self.main.append(self._commit("chore: init", [], files={"README.md": "init"}))

    # --- fast-import ----------------------------------------------------------------------------------

    def _commit(
        self,
        message: str,
        parents: list[int],
        *,
        author: tuple[str, str] = HUMAN,
        files: dict[str, str] | None = None,
    ) -> int:
        self.mark += 1
        mark = self.mark
        stamp = EPOCH + mark * 60
        data = message.encode() + b"\n"
        out = [
            f"commit refs/heads/scratch\nmark :{mark}\n",
            f"author {author[0]} <{author[1]}> {stamp} +0000\n",
            f"committer {author[0]} <{author[1]}> {stamp} +0000\n",
            f"data {len(data)}\n",
        ]
        chunks = [b"".join(s.encode() for s in out), data]
        tail = ""
        if parents:
            tail += f"from :{parents[0]}\n" + "".join(f"merge :{p}\n" for p in parents[1:])
        for name, content in (files if files is not None else {f"src/m{mark % 5}.py": f"v{mark}"}).items():
            body = content.encode()
            tail += f"M 644 inline {name}\ndata {len(body)}\n{content}\n"
        chunks.append(tail.encode() + b"\n")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"".join(chunks))
        self.subject[mark] = message.split("\n", 1)[0]
        return mark

    def _sha(self, mark: int) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"get-mark :{mark}\n".encode())
        self.proc.stdin.flush()
        return self.proc.stdout.readline().decode().strip()

    def finish(self) -> History:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"reset refs/heads/main\nfrom :{self.main[-1]}\n\ndone\n".encode())
        self.proc.stdin.close()
        assert self.proc.wait() == 0
        for mark in self.unshipped:  # develop work never shipped is not on main: not in the range
            self.expect.pop(mark, None)
            self.cites.pop(mark, None)
        shas = {}
        for line in self.marks_file.read_text().splitlines():
            mark, sha = line.split()
            shas[int(mark[1:])] = sha
        return History(
            path=self.path,
            shas=shas,
            expect={shas[m]: rule for m, rule in self.expect.items()},
            cites={shas[m]: prs for m, prs in self.cites.items()},
            pulls=self.pulls,
        )

    # --- one commit of a given kind ---------------------------------------------------------------

    def _kind(self, kind: str, parent: int, *, author: tuple[str, str] | None = None, line: list[int]) -> int:
        self.n += 1
        n = self.n
        if kind == "fixup":
            target = next((m for m in reversed(line) if m in self.subject and m != self.main[0]), None)
            message = f"fixup! {self.subject[target]}" if target else f"fixup! Tidy module {n}"
            mark = self._commit(message, [parent], author=author or HUMAN)
            return mark  # folded into its target's pull request, or left out: either is right
        message = _SUBJECTS[kind].format(n=n)
        files = None
        if kind == "own":
            message += f"\n\n{TRAILER}"
            files = {NOTES_FILE: f"notes {n}"}
        elif kind == "own-plus":
            message += f"\n\n{TRAILER}"  # our trailer, but it changes more than the notes file
            files = {NOTES_FILE: f"notes {n}", f"src/c{n}.py": "x"}
        who = BOT if kind == "bot" else (author or HUMAN)
        mark = self._commit(message, [parent], author=who, files=files)
        if who == BOT:
            self.expect[mark] = "bot"
        elif kind == "own":
            self.expect[mark] = "own-notes"
        elif kind == "release":
            self.expect[mark] = "release"
        else:
            self.expect[mark] = "shown"
        return mark

    # --- steps ---------------------------------------------------------------------------------------

    def step_commit(self, kind: str) -> None:
        mark = self._kind(kind, self.main[-1], line=self.main)
        self.main.append(mark)
        if self.expect.get(mark) == "shown":
            self.last_direct = mark

    def step_pr(
        self, style: str, back: int, kinds: list[str], back_merge: bool, title: str, bot: bool
    ) -> None:
        self.n += 1
        number = 100 + self.n
        author = BOT if bot else OTHER
        fork = self.main[max(0, len(self.main) - 1 - back)]
        branch: list[int] = []
        tip = fork
        for index, kind in enumerate(kinds if style == "merge" else ()):
            mark = self._kind("bot" if bot and kind != "fixup" else kind, tip, author=author, line=branch)
            branch.append(mark)
            tip = mark
            if back_merge and index == 0 and style == "merge" and tip != self.main[-1]:
                tip = self._commit(
                    "Merge branch 'main' into topic", [tip, self.main[-1]], author=author, files={}
                )
                self.expect[tip] = "back-merge"
                branch.append(tip)
        heading = {
            "typed": f"feat: pull request {number}",
            "plain": f"Improve area {number}",
            "default": None,
            "release": f"Release v{number}",
        }[title]
        login = "dependabot[bot]" if bot else "bob"
        if style == "merge":
            body = f"\n\n{heading}" if heading else ""
            merge = self._commit(
                f"Merge pull request #{number} from bob/topic-{number}{body}",
                [self.main[-1], tip],
                author=HUMAN,
                files={},
            )
            self.main.append(merge)
            if bot:
                self.expect[merge] = "bot"
            for mark in branch:
                if self.expect.get(mark) == "shown":
                    self.cites[mark] = (number,)
            self.pr_commits[number] = branch
            self.last_pr = (merge, number)
            if heading:  # GitHub always writes the title into the merge body; no body means no PR known
                self.pulls.append(Pull(number, heading, login, merge, branch, f"topic-{number}"))
        elif style == "squash":
            kind = next((k for k in kinds if k != "fixup"), "plain")
            self.n += 1
            message = _SUBJECTS["bot" if bot else kind].format(n=self.n).split("\n", 1)
            subject = message[0] + f" (#{number})"
            text = "\n".join([subject, *message[1:]])
            mark = self._commit(text, [self.main[-1]], author=author)
            self.main.append(mark)
            self.expect[mark] = "bot" if bot else "shown"
            self.pulls.append(Pull(number, message[0], login, mark, [], f"topic-{number}"))
        else:  # rebase: the branch's commits replayed onto main, without any reference to the PR
            last = self.main[-1]
            for kind in kinds:
                last = self._kind(
                    "bot" if bot and kind != "fixup" else kind, last, author=author, line=self.main
                )
                self.main.append(last)
            self.pulls.append(
                Pull(number, heading or f"Rebased {number}", login, last, [], f"topic-{number}")
            )

    def step_octopus(self, count: int) -> None:
        tips = []
        for _ in range(count):
            mark = self._kind("fix", self.main[-1], line=[])
            tips.append(mark)
        merge = self._commit("Merge branches 'a' and 'b'", [self.main[-1], *tips], files={})
        self.expect[merge] = "merge"
        self.main.append(merge)

    def step_develop(self, kinds: list[str], as_pr: bool) -> None:
        """Work on the long-lived `develop` branch: direct commits, or a pull request merged into it."""
        if not self.develop:
            self.develop.append(self.main[-1])
        if not as_pr:
            for kind in kinds:
                self.develop.append(self._kind(kind, self.develop[-1], line=self.develop))
                self.unshipped.append(self.develop[-1])
            return
        self.n += 1
        number = 100 + self.n
        tip = self.develop[-1]
        branch: list[int] = []
        for kind in kinds:
            tip = self._kind(kind, tip, author=OTHER, line=branch)
            branch.append(tip)
        title = f"feat: develop work {number}"
        merge = self._commit(
            f"Merge pull request #{number} from bob/into-develop-{number}\n\n{title}",
            [self.develop[-1], tip],
            files={},
        )
        self.develop.append(merge)
        for mark in branch:
            if self.expect.get(mark) == "shown":
                self.cites[mark] = (number,)
        self.unshipped += branch
        self.pulls.append(Pull(number, title, "bob", merge, branch, f"into-develop-{number}"))

    def step_ship(self, title: str) -> None:
        if not self.unshipped:
            return
        self.n += 1
        number = 100 + self.n
        heading = title.format(n=number)
        merge = self._commit(
            f"Merge pull request #{number} from org/develop\n\n{heading}",
            [self.main[-1], self.develop[-1]],
            files={},
        )
        self.main.append(merge)
        # What develop brought that main did not have yet cites the shipping pull request first.
        for mark in self.unshipped:
            if self.expect.get(mark) == "shown":
                self.cites[mark] = (number, *self.cites.get(mark, ()))
        self.unshipped = []
        self.pulls.append(Pull(number, heading, "bob", merge, [], "develop"))

    def step_revert(self, pull_request: bool) -> None:
        if pull_request and self.last_pr is not None:
            target, number = self.last_pr
            for mark in self.pr_commits.get(number, []):
                if self.expect.get(mark) == "shown":
                    self.expect[mark] = "revert-pair"
            self.expect.pop(target, None)
            self.last_pr = None
        elif self.last_direct is not None:
            target = self.last_direct
            self.expect[target] = "revert-pair"
            self.last_direct = None
        else:
            return
        sha = self._sha(target)
        mark = self._commit(f'Revert "{self.subject[target]}"\n\nThis reverts commit {sha}.', [self.main[-1]])
        self.expect[mark] = "revert-pair"
        self.main.append(mark)
