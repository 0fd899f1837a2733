"""The `patchpush` command end to end on real repositories: what a user runs and then checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from patchpush.cli import main
from patchpush.collect.conventional import OWN_TRAILER
from tests import planted_bug
from tests.gitrepo import GitRepo
from tests.planted_bug import planted_pythonpath


def run(repo: GitRepo, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--repo", str(repo.path), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def history(repo: GitRepo) -> GitRepo:
    repo.commit("chore: init")
    repo.tag("v1.0.0")
    repo.commit("feat(api): add users endpoint (#12)")
    repo.commit("fix: crash on empty input")
    repo.commit("perf!: stream the export\n\nBREAKING CHANGE: export returns an iterator")
    repo.commit("tidy up some things")
    repo.commit("chore(deps): bump lib", author="dependabot[bot] <bot@example.test>")
    return repo


def test_dry_run_prints_grouped_notes_and_writes_nothing(
    history: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(history, "--dry-run", capsys=capsys)
    assert code == 0
    assert out.index("### Breaking changes") < out.index("### Features") < out.index("### Fixes")
    assert "- stream the export" in out
    assert "- **api:** add users endpoint (#12)" in out
    # "Tidy" is a maintainer's verb: the item sits in the collapsed Maintenance block (#11).
    assert "<details>\n<summary>Maintenance (1)</summary>\n\n- tidy up some things" in out
    assert "bump lib" not in out
    assert not (history.path / "ai_patch.md").exists()
    assert not (history.path / "logs").exists()


def test_commit_then_rerun_is_skipped_and_new_commits_are_added(
    history: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(history, "--commit", "--mode", "prepend", "--file", "CHANGELOG.md", capsys=capsys)
    assert code == 0, err
    assert history.log("-1") == ["docs: update CHANGELOG.md"]
    assert OWN_TRAILER in history.git("log", "-1", "--format=%B")
    first = (history.path / "CHANGELOG.md").read_text()

    code, _, err = run(history, "--commit", "--mode", "prepend", "--file", "CHANGELOG.md", capsys=capsys)
    assert code == 0
    assert "skipped" in err
    assert (history.path / "CHANGELOG.md").read_text() == first
    assert history.log("-1") == ["docs: update CHANGELOG.md"]

    history.commit("fix: late fix")
    code, _, _ = run(history, "--commit", "--mode", "prepend", "--file", "CHANGELOG.md", capsys=capsys)
    text = (history.path / "CHANGELOG.md").read_text()
    assert code == 0
    assert text.endswith(first)
    new_part = text[: -len(first)]
    assert "late fix" in new_part and "add users endpoint" not in new_part


def test_prepend_keeps_a_human_written_changelog(
    history: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    old = "# Changelog\n\nHand-written intro.\n\n## 1.0.0 - 2025-01-01\n\n* first release  \n"
    (history.path / "CHANGELOG.md").write_text(old)
    code, _, _ = run(history, "--mode", "prepend", "--file", "CHANGELOG.md", capsys=capsys)
    text = (history.path / "CHANGELOG.md").read_text()
    assert code == 0
    assert text.startswith("# Changelog\n\nHand-written intro.\n\n<!-- patch-push:begin")
    assert text.endswith("## 1.0.0 - 2025-01-01\n\n* first release  \n")


def test_format_json_prints_the_notes_structure(history: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(history, "--dry-run", "--format", "json", capsys=capsys)
    notes = json.loads(out)
    assert code == 0
    titles = [s["title"] for s in notes["sections"]]
    assert titles == ["Breaking changes", "Features", "Fixes", "Maintenance"]
    refs = [(i["prs"], len(i["shas"])) for s in notes["sections"] for i in s["items"]]
    assert ([12], 1) in refs
    assert notes["report"]["writer"] == "offline"


def test_user_template(history: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    (history.path / "notes.j2").write_text(
        "# {{ notes.title }} for {{ changes.repository }}\n"
        "{% for s in notes.sections %}{% for i in s.items %}* {{ i.text | text }}\n{% endfor %}{% endfor %}"
    )
    code, out, _ = run(
        history, "--dry-run", "--template", "notes.j2", "--repository", "octo/widgets", capsys=capsys
    )
    assert code == 0
    assert out.startswith("# Changes up to ")
    assert "* tidy up some things" in out


def test_template_with_a_misspelled_variable_fails_clearly(
    history: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    (history.path / "bad.j2").write_text("{{ notes.titel }}")
    code, _, err = run(history, "--template", "bad.j2", capsys=capsys)
    assert code == 1
    assert "cannot render bad.j2" in err and "titel" in err
    assert not (history.path / "ai_patch.md").exists()
    assert "Error: cannot render bad.j2" in (history.path / "logs/patch_failures.log").read_text()


def test_links_are_built_from_refs(history: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(history, "--dry-run", "--repository", "octo/widgets", capsys=capsys)
    sha = history.git("log", "--format=%H", "--grep", "crash on empty")
    assert "([#12](https://github.com/octo/widgets/pull/12))" in out
    assert f"([`{sha[:7]}`](https://github.com/octo/widgets/commit/{sha}))" in out


def test_config_file_is_read_and_flags_override_it(
    history: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    (history.path / ".github").mkdir()
    (history.path / ".github/patchpush.yml").write_text(
        "file: NOTES.md\nmode: prepend\nexclude-authors: none\n"
    )
    code, _, _ = run(history, capsys=capsys)
    assert code == 0
    assert "bump lib" in (history.path / "NOTES.md").read_text()
    code, _, _ = run(history, "--file", "OTHER.md", capsys=capsys)
    assert (history.path / "OTHER.md").exists()


def test_unknown_config_key_names_file_and_key(history: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    (history.path / ".github").mkdir()
    (history.path / ".github/patchpush.yml").write_text("flie: NOTES.md\n")
    code, _, err = run(history, capsys=capsys)
    assert code == 1
    assert "error: .github/patchpush.yml: unknown key 'flie'" in err


def test_installed_console_script_runs_offline_on_a_fresh_clone(history: GitRepo) -> None:
    script = Path(sys.executable).with_name("patchpush")
    result = subprocess.run(
        [str(script), "--dry-run"],
        cwd=history.path,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(history.path)},
    )
    assert result.returncode == 0, result.stderr
    assert "### Features" in result.stdout


def test_context_saves_the_changes_and_from_context_replays_them(
    history: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, saved, _ = run(history, "--context", capsys=capsys)
    assert code == 0
    assert len(json.loads(saved)["changes"]) == 4
    (tmp_path / "changes.json").write_text(saved)
    history.commit("feat: after the save")  # not in the saved changes, so not in the notes
    code, replayed, _ = run(
        history, "--dry-run", "--from-context", str(tmp_path / "changes.json"), capsys=capsys
    )
    code_direct, direct, _ = run(history, "--dry-run", "--until", "HEAD~1", capsys=capsys)
    assert code == code_direct == 0
    assert replayed == direct
    assert "after the save" not in replayed


def test_from_context_with_a_wrong_file_is_a_clear_error(
    history: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.json").write_text('{"not": "a changeset"}')
    code, _, err = run(history, "--dry-run", "--from-context", str(tmp_path / "bad.json"), capsys=capsys)
    assert code == 1
    assert "is not a ChangeSet saved by `patchpush --context`" in err


def test_a_bug_after_the_notes_exist_exits_2_and_keeps_them(history: GitRepo, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "patchpush", "--repo", str(history.path)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": planted_pythonpath(tmp_path)},
    )
    assert result.returncode == 2, result.stderr
    assert "this is a bug in patch-push" in result.stderr
    assert "crash on empty input" in result.stdout
    kept = history.path / "logs/patch_notes_unpublished.md"
    assert "crash on empty input" in kept.read_text()
    assert planted_bug.MESSAGE in (history.path / "logs/patch_failures.log").read_text()
    assert not (history.path / "ai_patch.md").exists()
