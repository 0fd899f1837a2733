"""Each history issue 8 measured, built small, run through the command line as a user would."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from patchpush.cli import main
from patchpush.collect.conventional import OWN_TRAILER
from tests.gitrepo import GitRepo

DEPENDABOT = "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"


def notes_json(repo: GitRepo, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code = main(["--repo", str(repo.path), "--dry-run", "--format", "json", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    notes: dict[str, Any] = json.loads(out)
    return notes


def items(notes: dict[str, Any]) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(s["title"], i["text"], tuple(i["prs"])) for s in notes["sections"] for i in s["items"]]


def cited(notes: dict[str, Any]) -> list[str]:
    return [sha for s in notes["sections"] for i in s["items"] for sha in i["shas"]]


def test_five_commits_with_a_merged_pr_and_a_bot_keep_every_human_change(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    root = repo.commit("chore: init")
    a = repo.commit("feat: A")
    repo.merge_branch("br", ["fix: B"], message="Merge pull request #1 from x/br")
    repo.commit("chore(deps): bump lib from 1 to 2", author=DEPENDABOT)
    repo.commit("feat: C")
    notes = notes_json(repo, capsys, "--since", root)
    assert items(notes) == [("Features", "C", ()), ("Features", "A", ()), ("Fixes", "B", (1,))]
    assert a in cited(notes)
    everyone = notes_json(repo, capsys, "--since", root, "--exclude-authors", "none")
    # Dependency updates sit in the Maintenance block (#11).
    assert ("Maintenance", "**deps:** bump lib from 1 to 2", ()) in items(everyone)
    assert len(items(everyone)) == 4


def test_a_release_pr_is_described_commit_by_commit_citing_it(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """commitizen v2.42.1..v3.0.0: PR #715 "Release v3" merged a branch of features, fixes, a breaking
    footer and other pull requests; the notes showed one item."""
    repo.commit("chore: init")
    repo.tag("v2.42.1")
    repo.git("checkout", "-q", "-b", "v3")
    feature = repo.commit("feat(providers): add a scm version provider")
    repo.commit("fix(init): welcome message")
    breaking = repo.commit(
        "feat(plugins): entry-point loading\n\nBREAKING CHANGE: plugins register differently"
    )
    repo.merge_branch(
        "semver", ["feat: semver support"], message="Merge pull request #686 from a/semver\n\nSemver"
    )
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge pull request #715 from org/v3\n\nRelease v3", "v3")
    notes = notes_json(repo, capsys)
    assert items(notes) == [
        ("Breaking changes", "**plugins:** entry-point loading", (715,)),
        ("Features", "Semver", (686, 715)),
        ("Features", "**providers:** add a scm version provider", (715,)),
        ("Fixes", "**init:** welcome message", (715,)),
    ]
    assert {feature, breaking} <= set(cited(notes))


def test_our_weekly_notes_commit_does_not_hide_what_came_before_it(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("chore: init")
    repo.tag("v1.0.0")
    repo.commit("feat: before the weekly notes")
    repo.commit(f"docs: update ai_patch.md\n\n{OWN_TRAILER}", files={"ai_patch.md": "notes"})
    repo.commit("fix: after the weekly notes")
    # A contributor's commit carrying our trailer but changing code is not ours.
    repo.commit(f"fix: sneaky\n\n{OWN_TRAILER}", files={"ai_patch.md": "x", "src/app.py": "y"})
    notes = notes_json(repo, capsys, "--since", "v1.0.0")
    assert [text for _, text, _ in items(notes)] == [
        "before the weekly notes",
        "sneaky",
        "after the weekly notes",
    ]


def test_a_bot_pr_merged_by_a_person_is_left_out_and_a_bare_merge_reads_as_its_commit(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("chore: init")
    repo.tag("v1")
    repo.git("checkout", "-q", "-b", "dependabot/github_actions/checkout")
    repo.commit("Bump actions/checkout from 4 to 5", author=DEPENDABOT)
    repo.git("checkout", "-q", "main")
    branch = "dependabot/github_actions/checkout"
    repo.merge(branch, message=f"Merge pull request #7042 from psf/{branch}")
    repo.merge_branch("docs", ["docs: explain sessions"], message="Merge pull request #7050 from psf/docs")
    notes = notes_json(repo, capsys)
    assert items(notes) == [("Documentation", "explain sessions", (7050,))]


def test_path_filters_keep_pull_requests_whole(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit("chore: init")
    repo.tag("v1")
    repo.git("checkout", "-q", "-b", "opt")
    src = repo.commit("Support option values", files={"src/click/core.py": "x"})
    repo.commit("Document it", files={"docs/options.rst": "y"})
    repo.git("checkout", "-q", "main")
    repo.merge("opt", message="Merge pull request #2041 from a/opt\n\nPrioritize option values")
    repo.commit("docs: only docs", files={"docs/index.rst": "z"})
    notes = notes_json(repo, capsys, "--include-paths", "src/")
    assert items(notes) == [("Other changes", "Prioritize option values", (2041,))]
    assert src in cited(notes)


def test_release_bump_and_fixup_commits_are_noise_unless_turned_off(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("chore: init")
    repo.tag("v1")
    for subject in (
        "chore(release): prepare for v2.13.0",
        "bump: version 4.10.0 → 4.10.1",
        "release version 8.3.1",
    ):
        repo.commit(subject)
    repo.git("checkout", "-q", "-b", "work")
    repo.commit("feat: export")
    fixup = repo.commit("fixup! feat: export")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge pull request #9 from a/work\n\nExport", "work")
    repo.commit("fixup! gone long ago")
    repo.commit("v2.33.0")
    notes = notes_json(repo, capsys)
    assert items(notes) == [("Features", "Export", (9,))]
    assert fixup in cited(notes)  # folded into its target's pull request
    everything = notes_json(repo, capsys, "--noise", "none")
    texts = [text for _, text, _ in items(everything)]
    assert "v2.33.0" in texts and "fixup! gone long ago" in texts and len(texts) == 6


def test_a_shallow_clone_is_refused_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    origin = GitRepo(tmp_path / "origin")
    for n in range(8):
        origin.commit(f"feat: change {n}")
    for depth in ("1", "5"):
        clone = tmp_path / f"depth{depth}"
        subprocess.run(
            ["git", "clone", "-q", "--depth", depth, f"file://{origin.path}", str(clone)], check=True
        )
        code = main(["--repo", str(clone), "--dry-run"])
        _, err = capsys.readouterr()
        assert code == 1
        first = err.splitlines()[0]
        assert "shallow" in first and "git fetch --unshallow" in first and "fetch-depth: 0" in first
    full = tmp_path / "full"
    subprocess.run(["git", "clone", "-q", f"file://{origin.path}", str(full)], check=True)
    assert main(["--repo", str(full), "--dry-run"]) == 0


def test_links_come_from_a_github_origin_and_the_title_names_the_newest_described_commit(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.git("remote", "add", "origin", "git@github.com:octo-org/widgets.git")
    repo.commit("chore: init", day=1)
    repo.tag("v1")
    described = repo.commit("feat: add export (#12)", day=3)
    repo.commit("chore(deps): bump lib", author=DEPENDABOT, day=9)
    code = main(["--repo", str(repo.path), "--dry-run"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.startswith(f"## Changes up to {described[:7]} (2026-01-04)")
    assert "https://github.com/octo-org/widgets/pull/12" in out
