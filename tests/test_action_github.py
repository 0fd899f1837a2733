"""The action end to end: entrypoint.py as the runner starts it, against the loopback GitHub.

Every commit the action makes is a real git commit in the bare repository behind the emulator.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest

from patchpush.collect.conventional import OWN_TRAILER
from tests.fakes.github_server import Fault
from tests.github_env import Remote, serve


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    remote = Remote(tmp_path)
    remote.work.commit("chore: initial import")
    remote.work.tag("v1.0.0")
    remote.work.commit("feat(api): add users endpoint (#12)")
    remote.work.commit("fix: crash on empty input")
    remote.work.commit("docs: explain the config file")
    return remote


def commits_on_main(remote: Remote) -> list[str]:
    return remote.bare_git("log", "--format=%s", "main").splitlines()


def test_first_run_commits_second_skips_third_prepends_only_new(remote: Remote) -> None:
    with serve(remote) as emu:
        emu.add_pull_request(
            number=12,
            title="feat(api): add users endpoint",
            body="Adds /users.",
            labels=["enhancement"],
            author="alice",
            merge_commit_sha=remote.work.git("rev-parse", "HEAD~2"),
        )
        first = remote.run(emu, {"mode": "prepend", "file": "CHANGELOG.md"})
        assert first.code == 0, first.stdout + first.stderr
        assert first.outputs["outcome"] == "committed"
        assert commits_on_main(remote)[0] == "docs: update CHANGELOG.md"
        assert remote.bare_git("rev-parse", "main") == first.outputs["commit-sha"]
        message = remote.bare_git("log", "-1", "--format=%B", "main")
        assert OWN_TRAILER in message
        changed = remote.bare_git("show", "--name-only", "--format=", "main")
        assert changed == "CHANGELOG.md"
        remote.bare_git("fsck", "--strict")
        text = remote.file_at_head("CHANGELOG.md")
        assert "[#12](https://github.com/octo-org/widgets/pull/12)) by @alice" in text
        assert "crash on empty input" in text and "initial import" not in text
        assert first.outputs["changes"] == "3"
        assert first.outputs["writer"] == "offline"
        assert "### Features" in first.summary and "committed" in first.summary

        second = remote.run(emu, {"mode": "prepend", "file": "CHANGELOG.md"})
        assert second.code == 0
        assert second.outputs["outcome"] == "skipped"
        assert "Nothing new to describe after" in second.summary
        assert remote.file_at_head("CHANGELOG.md") == text
        assert commits_on_main(remote)[0] == "docs: update CHANGELOG.md"

        remote.pull()
        remote.work.commit("fix: late fix")
        remote.push()
        third = remote.run(emu, {"mode": "prepend", "file": "CHANGELOG.md"})
        assert third.outputs["outcome"] == "committed"
        new_text = remote.file_at_head("CHANGELOG.md")
        assert new_text.endswith(text)
        added = new_text[: -len(text)]
        assert "late fix" in added and "add users endpoint" not in added
        assert third.outputs["changes"] == "1"


def test_requests_grow_with_n_over_100(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    for n in range(250):
        remote.work.commit(f"fix: change {n}", files={"f.txt": str(n)})
    with serve(remote) as emu:
        run = remote.run(emu, {"max-commits": "5000"})
        assert run.outputs["outcome"] == "committed", run.stdout
        assert run.outputs["changes"] == "250"
        # + the config file, the notes file, .github/release.yml (#11) and the write.
        assert len(emu.requests) <= math.ceil(250 / 100) + 4, [r.path for r in emu.requests]


def test_server_errors_are_retried(remote: Remote) -> None:
    with serve(remote) as emu:
        emu.add_fault(Fault("server_error", path="/graphql", times=2, status=502))
        run = remote.run(emu)
        assert run.outputs["outcome"] == "committed", run.stdout
        assert [r.status for r in emu.requests if r.path.endswith("/graphql")][:3] == [502, 502, 200]


def test_secondary_rate_limit_with_retry_after_is_waited_out(remote: Remote) -> None:
    with serve(remote) as emu:
        emu.add_fault(Fault("rate_limit", method="PUT", path="/contents/", retry_after=1, status=403))
        run = remote.run(emu)
        assert run.outputs["outcome"] == "committed", run.stdout
        puts = [r.status for r in emu.requests if r.method == "PUT"]
        assert puts == [403, 200 if puts[-1] == 200 else 201]


def test_exhausted_rate_limit_says_when_it_resets(remote: Remote) -> None:
    with serve(remote) as emu:
        emu.add_fault(Fault("rate_limit", path="/graphql", times=10, reset_in=3600, status=403))
        run = remote.run(emu)
        assert run.code == 1
        assert run.outputs["outcome"] == "failed"
        assert "rate limit exhausted" in run.stdout and "resets at" in run.stdout
        assert commits_on_main(remote)[0] == "docs: explain the config file"


def test_stale_sha_conflict_is_merged_not_overwritten(remote: Remote) -> None:
    with serve(remote) as emu:
        first = remote.run(emu, {"mode": "prepend", "file": "CHANGELOG.md"})
        assert first.outputs["outcome"] == "committed"
        remote.pull()
        remote.work.commit("feat: second feature")
        remote.push()
        emu.add_fault(Fault("conflict", method="PUT", path="/contents/CHANGELOG.md"))
        run = remote.run(emu, {"mode": "prepend", "file": "CHANGELOG.md"})
        assert run.outputs["outcome"] == "committed", run.stdout
        puts = [r.status for r in emu.requests if r.method == "PUT"]
        assert puts[-2:] == [409, 200]
        # The other writer's commit is still in history, and our section sits on top of the file.
        log = commits_on_main(remote)
        assert log[0] == "docs: update CHANGELOG.md" and len(log) >= 3
        assert "second feature" in remote.file_at_head("CHANGELOG.md")


def test_protected_branch_opens_one_pull_request_that_later_runs_keep_up_to_date(remote: Remote) -> None:
    with serve(remote) as emu:
        emu.protect_branch("main")
        run = remote.run(emu)
        assert run.code == 0, run.stdout
        assert run.outputs["outcome"] == "pull-request"
        [pull] = emu.pull_requests
        assert run.outputs["pull-request-url"].endswith(f"/pull/{pull.number}")
        assert (pull.base, pull.head_ref) == ("main", "patch-push/main")
        assert commits_on_main(remote)[0] == "docs: explain the config file"
        assert "crash on empty input" in remote.bare_git("show", "patch-push/main:ai_patch.md")
        branch_head = remote.bare_git("rev-parse", "patch-push/main")

        again = remote.run(emu)  # nothing new: the open PR already proposes these notes
        assert again.outputs["outcome"] == "pull-request"
        assert again.outputs["pull-request-url"] == run.outputs["pull-request-url"]
        assert again.outputs["commit-sha"] == ""
        assert remote.bare_git("rev-parse", "patch-push/main") == branch_head

        remote.work.commit("fix: late fix")
        remote.push()
        later = remote.run(emu)
        assert later.outputs["outcome"] == "pull-request"
        assert later.outputs["pull-request-url"] == run.outputs["pull-request-url"]
        assert len(emu.pull_requests) == 1
        text = remote.bare_git("show", "patch-push/main:ai_patch.md")
        assert "late fix" in text and "crash on empty input" in text
        assert text.count("<!-- patch-push:begin") == 1
        # The branch was started again from main: one notes commit on top of main, nothing else.
        assert remote.bare_git("rev-list", "--count", "main..patch-push/main") == "1"


def test_protected_branch_with_fail_is_a_clear_error(remote: Remote) -> None:
    with serve(remote) as emu:
        emu.protect_branch("main")
        run = remote.run(emu, {"on-protected-branch": "fail"})
        assert run.code == 1
        assert "is protected" in run.stdout and "on-protected-branch: pull-request" in run.stdout
        assert emu.pull_requests == []


def test_missing_permission_names_the_permissions_line_and_keeps_the_notes(remote: Remote) -> None:
    with serve(remote, tokens={"read-only": {"contents:read"}}) as emu:
        run = remote.run(emu, token="read-only")
        assert run.code == 1
        errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
        assert len(errors) == 1 and "permissions: contents: write" in errors[0]
        log = (run.workspace / "logs/patch_failures.log").read_text()
        assert "(stage: publish)" in log and "403" in log
        kept = (run.workspace / "logs/patch_notes_unpublished.md").read_text()
        assert "crash on empty input" in kept
        assert "crash on empty input" in run.summary
        assert run.outputs["notes"].rstrip("\n") == kept.rstrip("\n")
        assert commits_on_main(remote)[0] == "docs: explain the config file"


def test_bad_token(remote: Remote) -> None:
    with serve(remote) as emu:
        run = remote.run(emu, token="not-a-token")
        assert run.code == 1
        assert "rejected the token" in run.stdout
        assert "not-a-token" not in run.summary + (run.workspace / "logs/patch_failures.log").read_text()


def test_unknown_branch(remote: Remote) -> None:
    with serve(remote) as emu:
        run = remote.run(emu, {"branch": "nope"})
        assert run.code == 1
        assert "nope" in run.stdout and "branch" in run.stdout


def test_a_file_over_1_mb_is_replaced_in_overwrite_mode_and_refused_in_prepend_mode(remote: Remote) -> None:
    remote.work.commit("docs: huge notes", files={"ai_patch.md": "x" * 1_200_000})
    with serve(remote) as emu:
        kept = remote.run(emu, {"mode": "prepend"})
        assert kept.code == 1 and kept.outputs["outcome"] == "failed"
        assert "larger than the 1 MB" in kept.stdout and "mode: overwrite" in kept.stdout
        assert commits_on_main(remote)[0] == "docs: huge notes"

        replaced = remote.run(emu)  # overwrite, the default: the file is the latest notes
        assert replaced.outputs["outcome"] == "committed", replaced.stdout
        text = remote.file_at_head("ai_patch.md")
        assert "crash on empty input" in text and len(text) < 10_000
        assert remote.run(emu).outputs["outcome"] == "skipped"  # and later runs read it again


def test_release_body_gets_the_notes(remote: Remote) -> None:
    remote.work.tag("v1.1.0")
    with serve(remote) as emu:
        emu.add_release("v1.1.0", body="Hand-written highlights.")
        run = remote.run(emu, {"release": "v1.1.0"})
        assert run.outputs["outcome"] == "committed", run.stdout
        release = next(r for r in emu.releases if r.tag_name == "v1.1.0")
        assert "crash on empty input" in release.body
        assert release.body.rstrip().endswith("Hand-written highlights.")
        assert run.outputs["release-url"].endswith("/releases/tag/v1.1.0")


def test_dry_run_publishes_nothing(remote: Remote) -> None:
    with serve(remote) as emu:
        run = remote.run(emu, {"dry-run": "true"})
        assert run.outputs["outcome"] == "dry-run"
        assert "crash on empty input" in run.outputs["notes"]
        folded = run.stdout.split("::group::patch-push notes\n", 1)[1].split("::endgroup::", 1)[0]
        assert "crash on empty input" in folded
        assert not [r for r in emu.requests if r.method != "GET" and not r.path.endswith("/graphql")]


def test_ten_concurrent_runs_lose_nothing(remote: Remote) -> None:
    with serve(remote) as emu:
        results = []

        def one() -> None:
            results.append(remote.run(emu, {"mode": "prepend", "file": "CHANGELOG.md"}))

        threads = [threading.Thread(target=one) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        outcomes = sorted(r.outputs.get("outcome", "?") for r in results)
        assert set(outcomes) <= {"committed", "skipped"}, [r.stdout for r in results]
        text = remote.file_at_head("CHANGELOG.md")
        # Every run described the same range: exactly one section, never two, never none.
        assert text.count("<!-- patch-push:begin") == 1
        assert outcomes.count("committed") == 1
        assert len([s for s in commits_on_main(remote) if s.startswith("docs: update")]) == 1


def test_ghes_layout(remote: Remote, tmp_path: Path) -> None:
    with serve(remote) as emu:
        run = remote.run(emu, env={"GITHUB_API_URL": emu.base_url + "/api/v3"})
        assert run.outputs["outcome"] == "committed", run.stdout


def test_range_inputs_through_the_api(remote: Remote) -> None:
    remote.work.commit("feat: after the tag", day=40)
    remote.work.tag("v1.1.0")
    remote.work.commit("fix: much later", day=60)
    with serve(remote) as emu:
        by_tag = remote.run(emu, {"since": "v1.1.0", "dry-run": "true"})
        assert by_tag.outputs["changes"] == "1" and "much later" in by_tag.outputs["notes"]
        by_date = remote.run(emu, {"since": "2026-02-01", "dry-run": "true"})
        assert (
            "after the tag" in by_date.outputs["notes"] and "crash on empty" not in by_date.outputs["notes"]
        )
        until = remote.run(emu, {"since": "v1.0.0", "until": "v1.1.0", "dry-run": "true"})
        assert "after the tag" in until.outputs["notes"] and "much later" not in until.outputs["notes"]
        unknown = remote.run(emu, {"since": "v9.9.9"})
        assert unknown.code == 1 and "input 'since' names 'v9.9.9'" in unknown.stdout


def test_bots_are_left_out_by_login_and_pull_requests_by_label(remote: Remote) -> None:
    bump = remote.work.commit(
        "chore(deps): bump lib (#30)",
        author="dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
    )
    change = remote.work.commit("Rework the settings page (#31)")
    with serve(remote) as emu:
        emu.add_pull_request(
            number=30, title="chore(deps): bump lib", body="", author="dependabot[bot]", merge_commit_sha=bump
        )
        emu.add_pull_request(
            number=31,
            title="Rework the settings page",
            body="<!-- template -->\nWhy: UX",
            labels=["breaking-change", "enhancement"],
            author="carol",
            merge_commit_sha=change,
        )
        run = remote.run(emu, {"dry-run": "true"})
        notes = run.outputs["notes"]
        assert "bump lib" not in notes
        breaking = notes.split("### Breaking changes")[1].split("###")[0]
        assert "Rework the settings page ([#31](https://github.com/octo-org/widgets/pull/31))" in breaking


def test_path_filters_through_the_api(remote: Remote) -> None:
    remote.work.commit("feat(web): new page", files={"web/index.html": "x"})
    remote.work.commit("feat(api): new route", files={"api/routes.py": "x"})
    with serve(remote) as emu:
        run = remote.run(emu, {"include-paths": "api/**", "dry-run": "true"})
        assert "new route" in run.outputs["notes"] and "new page" not in run.outputs["notes"]


def test_another_repository_by_input(remote: Remote) -> None:
    with serve(remote, owner="other-org", name="gadgets") as emu:
        run = remote.run(emu, {"repository": "other-org/gadgets"})
        assert run.outputs["outcome"] == "committed", run.stdout
        assert commits_on_main(remote)[0] == "docs: update ai_patch.md"
        # The default branch came from the API, the event payload being the workflow's own repository.
        assert any(r.path == "/repos/other-org/gadgets" for r in emu.requests)


def test_failure_log_output_is_relative_to_the_workspace(remote: Remote) -> None:
    with serve(remote, tokens={"read-only": {"contents:read"}}) as emu:
        run = remote.run(emu, token="read-only")
        assert run.outputs["failure-log"] == "logs/patch_failures.log"


def test_config_file_applies_and_action_inputs_override_it(remote: Remote) -> None:
    remote.work.commit("chore(deps): bump lib", author="dependabot[bot] <bot@example.test>")
    config = "file: NOTES.md\nexclude-authors: none\nmode: prepend\n"
    with serve(remote) as emu:
        run = remote.run(emu, {"file": "OTHER.md"}, config=config)
        assert run.outputs["outcome"] == "committed", run.stdout
        assert run.outputs["file"] == "OTHER.md"
        text = remote.file_at_head("OTHER.md")
        assert "bump lib" in text  # exclude-authors: none came from the file
        assert "NOTES.md" not in remote.bare_git("ls-tree", "--name-only", "main")


def test_unknown_key_in_the_config_file_names_file_and_key(remote: Remote) -> None:
    with serve(remote) as emu:
        run = remote.run(emu, config="flie: NOTES.md\n")
        assert run.code == 1
        assert "::error::.github/patchpush.yml: unknown key 'flie'" in run.stdout
        assert emu.requests == []


def test_a_secret_in_the_config_file_is_refused(remote: Remote) -> None:
    with serve(remote) as emu:
        run = remote.run(emu, config="openai-api-key: sk-in-a-file\n")
        assert run.code == 1
        assert "is a secret and must not live in a file" in run.stdout
        assert "sk-in-a-file" not in run.stdout + run.summary


def test_a_token_that_may_not_read_pull_requests_still_commits_with_a_warning(remote: Remote) -> None:
    with serve(remote, tokens={"contents-only": {"contents:write"}}) as emu:
        emu.add_pull_request(
            number=12,
            title="Users endpoint, from the pull request",
            body="",
            merge_commit_sha=remote.work.git("rev-parse", "HEAD~2"),
        )
        run = remote.run(emu, token="contents-only")
        assert run.outputs["outcome"] == "committed", run.stdout
        text = remote.file_at_head("ai_patch.md")
        assert "add users endpoint" in text and "from the pull request" not in text
        assert "pull-requests: read" in run.summary
        assert any(
            line.startswith("::warning::") and "pull-requests: read" in line
            for line in run.stdout.splitlines()
        )


def test_config_file_in_the_repository_applies_without_a_checkout(remote: Remote) -> None:
    remote.work.commit("ci: configure patch-push", files={".github/patchpush.yml": "file: docs/NOTES.md\n"})
    with serve(remote) as emu:
        run = remote.run(emu)
        assert run.outputs["outcome"] == "committed", run.stdout
        assert "configure patch-push" in remote.file_at_head("docs/NOTES.md")
        bad = remote.run(emu, {"file": "x.md"}, config=None)
        assert bad.outputs["file"] == "x.md"  # an action input still wins over the file
