"""The action when GitHub fails mid-run, through entrypoint.py against the loopback GitHub (issue 9, 6-10).

Whatever breaks after the notes exist, they are kept (job summary, patch_notes_unpublished.md, failure
log); a PUT whose answer is lost is found again; a lost race never moves the marker backwards.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from tests import planted_bug
from tests.action_runner import ActionRun
from tests.fakes.github_server import Fault
from tests.github_env import Remote, serve
from tests.planted_bug import planted_pythonpath


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    remote = Remote(tmp_path)
    remote.work.commit("chore: initial import")
    remote.work.tag("v1.0.0")
    remote.work.commit("feat(api): add users endpoint")
    remote.work.commit("fix: crash on empty input")
    return remote


def notes_commits(remote: Remote) -> list[str]:
    return [
        s for s in remote.bare_git("log", "--format=%s", "main").splitlines() if s.startswith("docs: update")
    ]


def assert_notes_kept(run: ActionRun, *, error: str) -> None:
    """What a user finds after a failed run: exit 1, one error line, and the notes in three places."""
    assert run.code == 1, run.stdout + run.stderr
    assert run.outputs["outcome"] == "failed"
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and error in errors[0], errors
    assert "Traceback" not in run.stdout + run.stderr
    assert "Notes (not published: kept here)" in run.summary and "crash on empty input" in run.summary
    kept = (run.workspace / "logs/patch_notes_unpublished.md").read_text()
    assert "crash on empty input" in kept and "add users endpoint" in kept
    log = (run.workspace / "logs/patch_failures.log").read_text()
    assert re.search(r"^\d{4}-\d\d-\d\dT[\d:.]+Z - Error: .*\(stage: publish\)$", log, re.MULTILINE), log


@pytest.mark.parametrize("kind", ["drop", "reset"])
def test_a_put_dropped_before_github_handled_it_is_sent_again(remote: Remote, kind: str) -> None:
    with serve(remote) as emu:
        emu.add_fault(Fault(kind, method="PUT", path="/contents/"))  # type: ignore[arg-type]
        run = remote.run(emu)
        assert run.code == 0 and run.outputs["outcome"] == "committed", run.stdout + run.stderr
        assert [r.status for r in emu.requests if r.method == "PUT"] == [0, 201]
        assert notes_commits(remote) == ["docs: update ai_patch.md"]


@pytest.mark.parametrize("kind", ["lost_answer", "truncate"])
def test_a_put_whose_answer_is_lost_after_the_commit_reports_that_commit(remote: Remote, kind: str) -> None:
    with serve(remote) as emu:
        emu.add_fault(Fault(kind, method="PUT", path="/contents/"))  # type: ignore[arg-type]
        run = remote.run(emu)
        assert run.code == 0, run.stdout + run.stderr
        assert run.outputs["outcome"] == "committed"
        assert run.outputs["commit-sha"] == remote.bare_git("rev-parse", "main")
        assert notes_commits(remote) == ["docs: update ai_patch.md"]  # made once, not twice
        assert "crash on empty input" in remote.file_at_head("ai_patch.md")


def test_github_killed_during_the_write_keeps_the_notes(remote: Remote) -> None:
    with serve(remote) as emu:
        emu.add_fault(Fault("die", method="PUT", path="/contents/"))
        run = remote.run(emu)
    # One line a user can act on, not urllib3's nested repr of its connection pool.
    assert_notes_kept(
        run,
        error="cannot reach GitHub while committing ai_patch.md to octo-org/widgets@main "
        "(connection refused)",
    )
    assert notes_commits(remote) == []


def test_a_bug_after_the_notes_exist_exits_2_and_keeps_them(remote: Remote, tmp_path: Path) -> None:
    with serve(remote) as emu:
        run = remote.run(emu, env={"PYTHONPATH": planted_pythonpath(tmp_path)})
    assert run.code == 2, run.stdout + run.stderr
    assert run.outputs["outcome"] == "failed"
    assert "this is a bug in patch-push" in run.stdout
    assert "crash on empty input" in run.summary
    assert "crash on empty input" in (run.workspace / "logs/patch_notes_unpublished.md").read_text()
    log = (run.workspace / "logs/patch_failures.log").read_text()
    assert planted_bug.MESSAGE in log and "test-token" not in log
    assert notes_commits(remote) == []


def test_one_bad_read_of_the_changelog_does_not_describe_history_again(remote: Remote) -> None:
    with serve(remote) as emu:
        first = remote.run(emu, {"mode": "prepend", "file": "CHANGELOG.md"})
        assert first.outputs["outcome"] == "committed", first.stdout
        before = remote.file_at_head("CHANGELOG.md")
        for glitches, subject in ((1, "fix: second"), (2, "fix: third")):
            remote.pull()
            remote.work.commit(subject)
            remote.push()
            emu.add_fault(Fault("not_found", method="GET", path="/contents/CHANGELOG.md", times=glitches))
            emu.add_fault(Fault("server_error", method="GET", path="/contents/CHANGELOG.md", after=2))
            run = remote.run(emu, {"mode": "prepend", "file": "CHANGELOG.md"})
            assert run.outputs["outcome"] == "committed", run.stdout
            assert run.outputs["changes"] == "1"
            text = remote.file_at_head("CHANGELOG.md")
            added = text[: -len(before)]
            assert text.endswith(before) and subject.removeprefix("fix: ") in added
            assert "crash on empty input" not in added
            before = text
        assert text.count("crash on empty input") == 1


def test_a_changelog_the_notes_would_push_past_1_mb_is_left_as_it_is(remote: Remote) -> None:
    remote.work.commit(
        "docs: long history", files={"CHANGELOG.md": "# Changelog\n\n" + "- old entry\n" * 83_300}
    )
    with serve(remote) as emu:
        run = remote.run(emu, {"mode": "prepend", "file": "CHANGELOG.md"})
        assert_notes_kept(run, error="over the 1,000,000 the Contents API serves")
        assert notes_commits(remote) == []


def test_a_notes_file_that_is_not_utf8_is_one_clear_error(remote: Remote) -> None:
    (remote.work.path / "ai_patch.md").write_bytes("Notes en fran\u00e7ais\n".encode("latin-1"))
    remote.work.git("add", "ai_patch.md")
    remote.work.commit("docs: latin-1 notes")
    with serve(remote) as emu:
        run = remote.run(emu)
    assert run.code == 1 and run.outputs["outcome"] == "failed"
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "ai_patch.md in octo-org/widgets@main is not UTF-8 text" in errors[0]
    assert "convert the file to UTF-8" in errors[0]


def test_concurrent_writers_over_differing_ranges_never_move_the_marker_back(remote: Remote) -> None:
    subjects = [f"fix: change {n}" for n in range(5)]
    heads = [remote.work.commit(s) for s in subjects]
    with serve(remote) as emu:
        results: list[ActionRun] = []

        def one(head: str) -> None:
            results.append(remote.run(emu, {"mode": "prepend", "file": "CHANGELOG.md", "until": head}))

        threads = [threading.Thread(target=one, args=(h,)) for h in heads]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    outcomes = [r.outputs.get("outcome", "?") for r in results]
    assert set(outcomes) <= {"committed", "skipped"}, [r.stdout for r in results if r.code]
    text = remote.file_at_head("CHANGELOG.md")
    for subject in [
        "add users endpoint",
        "crash on empty input",
        *(s.removeprefix("fix: ") for s in subjects),
    ]:
        assert len(re.findall(rf"\b{subject}\b", text)) == 1, (subject, text)
    # Every version of the file recorded a newer commit than the one before it.
    order = {sha: n for n, sha in enumerate(heads)}
    markers = []
    for version in remote.bare_git("log", "--reverse", "--format=%H", "main", "--", "CHANGELOG.md").split():
        found = re.search(r"head=([0-9a-f]{40})", remote.bare_git("show", f"{version}:CHANGELOG.md"))
        assert found is not None
        markers.append(order[found.group(1)])
    assert markers == sorted(set(markers)) and markers[-1] == len(heads) - 1


def test_a_run_whose_range_ends_before_the_files_marker_leaves_the_file_alone(remote: Remote) -> None:
    older = remote.work.git("rev-parse", "HEAD~1")
    with serve(remote) as emu:
        first = remote.run(emu, {"mode": "prepend", "file": "CHANGELOG.md"})
        assert first.outputs["outcome"] == "committed", first.stdout
        text = remote.file_at_head("CHANGELOG.md")
        late = remote.run(emu, {"mode": "prepend", "file": "CHANGELOG.md", "until": older})
    assert late.code == 0 and late.outputs["outcome"] == "skipped", late.stdout
    assert remote.file_at_head("CHANGELOG.md") == text
    assert any(
        line.startswith("::warning::") and "is not in the history of" in line
        for line in late.stdout.splitlines()
    )
