"""What the notes show, end to end (#11): release.yml read through the API and from a clone, labels
that skip a pull request, new contributors, the maintenance setting, and --dry-run's Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchpush.cli import main
from tests.fakes.github_server import Fault
from tests.github_env import Remote, serve
from tests.gitrepo import GitRepo

RELEASE_YML = """\
changelog:
  exclude:
    labels: [ignore-for-release]
  categories:
    - title: New stuff
      labels: [enhancement]
    - title: Everything else
      labels: ["*"]
"""


def run(repo: GitRepo, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--repo", str(repo.path), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_action_reads_release_yml_through_the_api_and_names_new_contributors(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    work = remote.work
    work.commit("Initial import", author="Old Hand <old@example.test>")
    work.commit(".github/release.yml", files={".github/release.yml": RELEASE_YML})
    work.tag("v1.0.0")
    # Squash merges, as GitHub writes them: the subject ends with the pull request's number.
    exporter = work.commit("Export to PDF (#7)", author="Newbie <newbie@example.test>")
    hidden = work.commit("Internal shuffle (#8)", author="Old Hand <old@example.test>")
    skipped = work.commit("Tweak a comment (#9)", author="Old Hand <old@example.test>")
    work.commit("Fix the crash on start", author="Old Hand <old@example.test>")
    with serve(remote) as emu:
        emu.add_user("newbie", email="newbie@example.test")
        emu.add_user("oldhand", email="old@example.test")
        for number, sha, labels in (
            (7, exporter, ["enhancement"]),
            (8, hidden, ["ignore-for-release"]),
            (9, skipped, ["skip-changelog"]),
        ):
            emu.add_pull_request(
                number=number,
                title=work.git("log", "-1", "--format=%s", sha).rsplit(" (#", 1)[0],
                body="",
                labels=labels,
                author="newbie" if sha == exporter else "oldhand",
                merge_commit_sha=sha,
            )
        result = remote.run(emu, {"since": "v1.0.0"})
        assert result.code == 0, result.stdout + result.stderr
        text = remote.file_at_head("ai_patch.md")
        graphql = [r.json()["query"] for r in emu.requests if r.path.endswith("/graphql")]
    assert "### New stuff\n\n- Export to PDF ([#7]" in text
    assert "### Everything else\n\n- Fix the crash on start" in text
    assert "Internal shuffle" not in text and "Tweak a comment" not in text
    assert "### New contributors\n\n- @newbie made their first contribution in [#7]" in text
    assert "oldhand made" not in text
    # One query asks about every author of the range, not one per person.
    assert sum("CommitAuthor" in q for q in graphql) == 1
    assert result.outputs["changes"] == "2"


def test_cli_reads_release_yml_from_the_clone_and_new_contributors_from_history(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("Initial import", author="Old Hand <old@example.test>")
    repo.commit(
        "release config", files={".github/release.yml": "changelog:\n  exclude:\n    authors: [Old Hand]\n"}
    )
    repo.tag("v1.0.0")
    repo.commit("Add a --json flag", author="Jo New <jo@example.test>")
    repo.commit("Fix a typo in the docs", author="Old Hand <old@example.test>")
    code, out, err = run(repo, "--dry-run", capsys=capsys)
    assert code == 0, err
    assert "### Features\n\n- Add a --json flag" in out
    assert "typo" not in out  # release.yml's exclude.authors
    assert "### New contributors\n\n- Jo New made their first contribution in `" in out
    code, out, err = run(repo, "--dry-run", "--release-config", "none", capsys=capsys)
    assert "typo" in out and "Old Hand made" not in out


def test_dry_run_prints_what_the_file_gets(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit("chore: init")
    repo.tag("v1.0.0")
    repo.commit("feat: dark mode\n\nLong body <b>html</b>")
    repo.commit("ci: cache downloads")
    repo.commit("Fix the cursor on reload")
    code, printed, err = run(repo, "--dry-run", capsys=capsys)
    assert code == 0
    assert "(3 commits)" in err  # the status line counts commits; the summary counts items
    code, _, _ = run(repo, capsys=capsys)
    written = (repo.path / "ai_patch.md").read_text()
    # The file holds the same Markdown between its two hidden markers.
    inner = written.split("-->\n", 1)[1].rsplit("<!-- patch-push:end -->", 1)[0]
    assert inner == printed
    assert "3 changes: 1 feature, 1 fix, 1 maintenance change." in printed


@pytest.mark.parametrize(
    ("mode", "shown"),
    [
        ("collapse", "<details>\n<summary>Maintenance (1)</summary>\n\n- cache downloads"),
        ("list", "### Maintenance\n\n- cache downloads"),
        ("hide", None),
    ],
)
def test_maintenance_setting(
    repo: GitRepo, capsys: pytest.CaptureFixture[str], mode: str, shown: str | None
) -> None:
    repo.commit("chore: init")
    repo.tag("v1.0.0")
    repo.commit("feat: dark mode")
    repo.commit("ci: cache downloads")
    code, out, err = run(repo, "--dry-run", "--maintenance", mode, capsys=capsys)
    assert code == 0, err
    assert "- dark mode" in out
    if shown is None:
        assert "cache downloads" not in out and "Maintenance" not in out
    else:
        assert shown in out


def test_bad_settings_and_release_yml_say_what_to_do(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("feat: dark mode")
    code, _, err = run(repo, "--dry-run", "--maintenance", "fold", capsys=capsys)
    assert code == 1
    assert "input 'maintenance' has an unknown value 'fold' (use one of: collapse, list, hide)" in err
    code, _, err = run(repo, "--dry-run", "--section-titles", "Fixes", capsys=capsys)
    assert code == 1 and "which is not Old=New" in err
    (repo.path / ".github").mkdir()
    (repo.path / ".github/release.yml").write_text("changelog:\n  categories: {title: x}\n")
    code, _, err = run(repo, "--dry-run", capsys=capsys)
    assert code == 1
    assert ".github/release.yml `changelog.categories` must be a list" in err
    assert "release-config: none" in err


def test_a_shallow_clone_names_no_new_contributors(
    repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.commit("Initial import", author="Jo Old <jo@example.test>")
    repo.commit("Second", author="Sam <sam@example.test>")
    repo.commit("Add a --json flag", author="Jo Old <jo@example.test>")
    shallow = tmp_path / "shallow"
    repo.git("clone", "-q", "--depth", "2", f"file://{repo.path}", str(shallow))
    # The shallow clone has no trace of Jo's first commit: it must not call Jo new.
    code = main(["--repo", str(shallow), "--dry-run", "--since", "HEAD~1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Add a --json flag" in out and "New contributors" not in out
    code, out, _ = run(repo, "--dry-run", "--since", "HEAD~1", capsys=capsys)
    assert "Add a --json flag" in out and "New contributors" not in out


def test_action_publishes_without_new_contributors_when_that_query_fails(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    remote.work.commit("Initial import", author="Old Hand <old@example.test>")
    remote.work.tag("v1.0.0")
    remote.work.commit("Add a --json flag", author="Newbie <newbie@example.test>")
    with serve(remote) as emu:
        emu.add_user("newbie", email="newbie@example.test")
        # The history query passes; the next GraphQL request (the new-contributor one) is refused.
        emu.add_fault(Fault("forbidden", path="/graphql", after=1))
        result = remote.run(emu, {"since": "v1.0.0"})
        assert result.code == 0, result.stdout + result.stderr
        text = remote.file_at_head("ai_patch.md")
        statuses = [r.status for r in emu.requests if r.path.endswith("/graphql")]
    assert statuses == [200, 403]
    assert result.outputs["outcome"] == "committed"
    assert "- Add a --json flag" in text and "New contributors" not in text
