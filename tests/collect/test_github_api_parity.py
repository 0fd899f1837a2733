"""Both collectors give the same ChangeSet on generated histories of every real-world shape: PR branches
forked several commits back and merged with a merge commit, back-merges of main into a branch, squash
merges, octopus merges, bots on the first-parent line, and tags anywhere on it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from patchpush.collect import RangeRequest
from patchpush.collect.git import GitSource
from patchpush.models import Since
from patchpush.settings import DEFAULT_BOTS
from tests.collect.api_harness import collect_through_api, shape

BOT = "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"
HUMAN = "Dev <dev@example.test>"
SUBJECTS = ["feat: add a widget", "fix: mend the widget", "docs: explain it", "perf!: faster", "Tidy up"]

# One step of history: ("commit", subject index, by bot) | ("pr", fork back, branch length, back-merge)
# | ("squash", subject index) | ("octopus",) | ("tag",)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("commit"), st.integers(0, len(SUBJECTS) - 1), st.booleans()),
        st.tuples(st.just("pr"), st.integers(0, 4), st.integers(1, 3), st.booleans()),
        st.tuples(st.just("squash"), st.integers(0, len(SUBJECTS) - 1)),
        st.tuples(st.just("octopus")),
        st.tuples(st.just("tag")),
    ),
    min_size=1,
    max_size=14,
)


class _History:
    """Commits written with one `git fast-import`; marks name them until git gives them shas."""

    def __init__(self) -> None:
        self.stream: list[str] = []
        self.main: list[int] = []  # first-parent line, marks oldest first
        self.pulls: list[dict[str, Any]] = []  # add_pull_request arguments, merge commit as a mark
        self.tags: list[tuple[str, int]] = []
        self._mark = 0

    def commit(
        self, subject: str, parents: list[int], *, author: str = HUMAN, ref: str = "refs/heads/main"
    ) -> int:
        self._mark += 1
        name, _, email = author.partition(" <")
        stamp = 1_767_225_600 + self._mark * 60
        data = subject.encode()
        lines = [
            f"commit {ref}",
            f"mark :{self._mark}",
            f"author {name} <{email} {stamp} +0000",
            f"committer {name} <{email} {stamp} +0000",
            f"data {len(data)}",
            subject,
        ]
        lines += [f"from :{parents[0]}"] if parents else []
        lines += [f"merge :{p}" for p in parents[1:]]
        lines += [f"M 644 inline f{self._mark}.txt", "data 1", "x", ""]
        self.stream.append("\n".join(lines) + "\n")
        return self._mark

    def on_main(self, subject: str, *, extra: list[int] = (), author: str = HUMAN) -> int:  # type: ignore[assignment]
        mark = self.commit(subject, [*self.main[-1:], *extra], author=author)
        self.main.append(mark)
        return mark


def build(history_steps: list[tuple[Any, ...]]) -> _History:
    h = _History()
    h.on_main("chore: initial import")
    number = 100
    for step in history_steps:
        kind = step[0]
        if kind == "commit":
            h.on_main(SUBJECTS[step[1]], author=BOT if step[2] else HUMAN)
        elif kind == "pr":
            number += 1
            fork = h.main[max(0, len(h.main) - 1 - step[1])]
            tip = fork
            ref = f"refs/heads/topic{number}"
            for n in range(step[2]):
                tip = h.commit(f"{SUBJECTS[n % len(SUBJECTS)]} {number}.{n}", [tip], ref=ref)
                if step[3] and n == 0:
                    tip = h.commit(f"Merge branch 'main' into topic{number}", [tip, h.main[-1]], ref=ref)
            title = f"feat: topic {number}"
            merge = h.on_main(f"Merge pull request #{number} from octo/topic{number}\n\n{title}", extra=[tip])
            h.pulls.append({"number": number, "title": title, "body": "", "merge_commit_sha": merge})
        elif kind == "squash":
            number += 1
            headline = SUBJECTS[step[1]]
            mark = h.on_main(f"{headline} (#{number})")
            h.pulls.append({"number": number, "title": headline, "body": "", "merge_commit_sha": mark})
        elif kind == "octopus":
            tips = [
                h.commit(f"fix: side {h._mark}.{n}", [h.main[-1]], ref=f"refs/heads/side{h._mark}{n}")
                for n in (0, 1)
            ]
            h.on_main("Merge branches 'a' and 'b'", extra=tips)
        else:
            h.tags.append((f"v1.{len(h.tags)}.0", h.main[-1]))
    return h


def materialise(h: _History, path: Path) -> tuple[Path, dict[int, str]]:
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    marks = path / "marks"
    subprocess.run(
        ["git", "--git-dir", str(path), "fast-import", "--quiet", f"--export-marks={marks}"],
        input="".join(h.stream).encode(),
        check=True,
    )
    shas = {int(m[1:]): sha for m, sha in (line.split() for line in marks.read_text().splitlines())}
    for name, mark in h.tags:
        subprocess.run(["git", "--git-dir", str(path), "tag", name, shas[mark]], check=True)
    return path, shas


@given(steps, st.data())
def test_both_collectors_give_the_same_changeset(
    tmp_path_factory: Any, history_steps: list[tuple[Any, ...]], data: st.DataObject
) -> None:
    h = build(history_steps)
    bare, shas = materialise(h, tmp_path_factory.mktemp("parity") / "repo.git")
    since = data.draw(st.sampled_from(["auto", "ref"]))
    base = shas[data.draw(st.sampled_from(h.main))] if since == "ref" else None
    request = RangeRequest(
        since=Since("ref", ref=base) if base else Since("auto"),
        until="",
        branch="main",
        last_described=None,
        max_commits=2000,
        exclude_authors=DEFAULT_BOTS,
    )
    pulls = [{**p, "merge_commit_sha": shas[p["merge_commit_sha"]]} for p in h.pulls]
    git = GitSource(repo=bare).changes(request)
    api = collect_through_api(bare, request, pulls=pulls)
    assert shape(api) == shape(git)
    # And where GitHub knows more, it says so: every PR item carries the PR's title.
    assert all(c.pr_title for c in api.changes if c.pr_number is not None)
