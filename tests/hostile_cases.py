"""Hostile inputs, run through the action as the runner starts it: entrypoint.py against the loopback
GitHub (and, where a model is involved, the loopback OpenAI-compatible server), or the `patchpush`
command on a clone for the local publisher.

Each case returns a `Verdict` (tests/hostile_checks.py): what went wrong for a user, where a secret
showed up, and whether generated notes were lost. `tests/test_security_action.py` runs each case as a
test; `bench/hostile.py` runs them all and prints the counts (issue #9).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.action_runner import ActionRun, run_action
from tests.fakes.github_server import GitHubEmulator
from tests.fakes.openai_server import OpenAIServer, Reply
from tests.github_env import Remote, serve
from tests.gitrepo import GitRepo
from tests.hostile_checks import (
    API_KEY,
    FORGED,
    ROOT,
    TEMPLATE,
    TOKEN,
    Verdict,
    errors,
    finish,
    markdown_problems,
    one_clear_error,
    workflow_commands,
)

# -- the repository under attack -------------------------------------------------------------------


def _serve(remote: Remote) -> Any:
    return serve(remote, tokens={TOKEN: {"contents:write", "pull_requests:write"}})


def _remote(tmp_path: Path, *subjects: str, files: dict[str, str] | None = None) -> Remote:
    remote = Remote(tmp_path)
    remote.work.commit("chore: initial import", files=files)
    remote.work.tag("v1.0.0")
    for subject in subjects or ("feat: add widgets", "fix: crash on empty input"):
        remote.work.commit(subject)
    return remote


def _model(summary: str = "Better widgets.", item: Callable[[str], str] | None = None) -> Any:
    """A model that writes one item per change it is shown, citing its line number."""

    def answer(request: dict[str, Any]) -> Reply:
        if request["response_format"]["json_schema"]["name"] == "notes_summary":
            return Reply.content(json.dumps({"title": "Widgets", "summary": summary}))
        lines = re.findall(r"^(\d+) (.*)$", request["messages"][1]["content"], re.MULTILINE)
        items = [
            {"text": (item or (lambda rest: "Improved " + rest.split(" | ")[0]))(rest), "refs": [key]}
            for key, rest in lines
        ]
        notes = {"title": "Widgets", "summary": summary, "sections": [{"title": "Features", "items": items}]}
        return Reply.content(json.dumps(notes))

    return answer


def _with_template(tmp_path: Path, template: str) -> tuple[Remote, dict[str, str]]:
    remote = _remote(tmp_path, files={TEMPLATE: template, "README.md": "widgets\n"})
    return remote, {"template": TEMPLATE}


def _template_case(tmp_path: Path, template: str, expected: str) -> tuple[Verdict, ActionRun, Remote]:
    remote, inputs = _with_template(tmp_path, template)
    with _serve(remote) as emu:
        run = remote.run(emu, inputs, token=TOKEN)
    verdict = Verdict()
    one_clear_error(verdict, run, expected)
    verdict.check("ai_patch.md" not in remote.bare_git("ls-tree", "--name-only", "main"), "notes committed")
    return verdict, run, remote


# -- templates --------------------------------------------------------------------------------------


def template_runs_no_code(tmp_path: Path) -> Verdict:
    marker = tmp_path / "pwned"
    verdict, run, remote = _template_case(
        tmp_path,
        "{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}",
        f"cannot render {TEMPLATE}",
    )
    verdict.check(not marker.exists(), "the template ran a shell command")
    return finish(verdict, run, remote)


def template_reads_no_environment(tmp_path: Path) -> Verdict:
    verdict, run, remote = _template_case(
        tmp_path,
        "{{ cycler.__init__.__globals__.os.environ['INPUT_GITHUB-TOKEN'] }}",
        f"cannot render {TEMPLATE}",
    )
    return finish(verdict, run, remote)


def template_huge_range_does_not_hang(tmp_path: Path) -> Verdict:
    verdict, run, remote = _template_case(
        tmp_path, "{% for i in range(10**12) %}x{% endfor %}", "Range too big"
    )
    return finish(verdict, run, remote)


def template_include_is_refused(tmp_path: Path) -> Verdict:
    verdict, run, remote = _template_case(
        tmp_path, "{% include '/etc/passwd' %}", "cannot include, import or extend another one"
    )
    return finish(verdict, run, remote)


def template_division_by_zero(tmp_path: Path) -> Verdict:
    verdict, run, remote = _template_case(tmp_path, "{{ 1/0 }}", "ZeroDivisionError: division by zero")
    return finish(verdict, run, remote)


def template_50_mb_output(tmp_path: Path) -> Verdict:
    verdict, run, remote = _template_case(
        tmp_path, "{% for i in range(100000) %}{{ 'x' * 500 }}{% endfor %}", "bytes even without any items"
    )
    return finish(verdict, run, remote)


# -- the config file may not choose where secrets go -----------------------------------------------


def _config_case(
    tmp_path: Path, config: str, expected: str, inputs: dict[str, str] | None = None
) -> tuple[Verdict, ActionRun, Remote, GitHubEmulator]:
    remote = _remote(tmp_path, files={".github/patchpush.yml": config})
    with _serve(remote) as emu:
        run = remote.run(emu, inputs, token=TOKEN)
    verdict = Verdict()
    one_clear_error(verdict, run, expected)
    return verdict, run, remote, emu


def config_base_url_cannot_take_the_key(tmp_path: Path) -> Verdict:
    with OpenAIServer(api_key=None) as attacker:
        verdict, run, remote, _ = _config_case(
            tmp_path,
            f"base-url: {attacker.base_url}\n",
            "'base-url' decides where a secret is sent, so only the workflow may set it",
            {"openai-api-key": API_KEY},
        )
        verdict.check(not attacker.requests, f"the attacker's server got {len(attacker.requests)} requests")
    return finish(verdict, run, remote)


def config_provider_cannot_take_the_token(tmp_path: Path) -> Verdict:
    with OpenAIServer(api_key=None) as attacker:
        verdict, run, remote, _ = _config_case(
            tmp_path,
            "provider: github-models\n",
            "'provider' decides where a secret is sent",
            {"base-url": attacker.github_models_url},
        )
        verdict.check(not attacker.requests, "the GitHub token went to a model endpoint")
    return finish(verdict, run, remote)


def config_repository_cannot_redirect_the_token(tmp_path: Path) -> Verdict:
    verdict, run, remote, emu = _config_case(
        tmp_path, "repository: victim-org/secrets\n", "'repository' decides where a secret is sent"
    )
    verdict.check(not any("victim-org" in r.path for r in emu.requests), "the token was used on another repo")
    return finish(verdict, run, remote)


def config_billion_laughs(tmp_path: Path) -> Verdict:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 9):
        prev, name = chr(ord("a") + n - 1), chr(ord("a") + n)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("instructions: *i")
    verdict, run, remote, _ = _config_case(tmp_path, "\n".join(lines) + "\n", ".github/patchpush.yml")
    verdict.check(any("nests deeper" in e or "expands to more" in e for e in errors(run)), "unclear error")
    return finish(verdict, run, remote)


def config_deep_nesting(tmp_path: Path) -> Verdict:
    verdict, run, remote, _ = _config_case(
        tmp_path, "instructions: " + "[" * 20_000 + "]" * 20_000 + "\n", "nests deeper than 3 levels"
    )
    return finish(verdict, run, remote)


def config_timeout_nan(tmp_path: Path) -> Verdict:
    verdict, run, remote, _ = _config_case(tmp_path, "timeout: .nan\n", "input 'timeout' must be")
    return finish(verdict, run, remote)


def config_timeout_inf(tmp_path: Path) -> Verdict:
    verdict, run, remote, _ = _config_case(tmp_path, "timeout: .inf\n", "input 'timeout' must be at most")
    return finish(verdict, run, remote)


def config_since_overflow(tmp_path: Path) -> Verdict:
    verdict, run, remote, _ = _config_case(tmp_path, "since: 99999999d\n", "input 'since' reaches back")
    return finish(verdict, run, remote)


def config_file_with_nul(tmp_path: Path) -> Verdict:
    verdict, run, remote, _ = _config_case(
        tmp_path, 'file: "notes\\0.md"\n', "input 'file' contains a control character (U+0000)"
    )
    return finish(verdict, run, remote)


# -- endpoints and secrets from the workflow --------------------------------------------------------


def base_url_metadata_address(tmp_path: Path) -> Verdict:
    """Other spellings of the address: tests/test_security_settings.py."""
    run = run_action(tmp_path, {"github-token": TOKEN, "base-url": "http://[::ffff:a9fe:a9fe]/latest"})
    verdict = Verdict()
    one_clear_error(verdict, run, "input 'base-url' points at a cloud metadata address")
    return finish(verdict, run, None)


def secret_with_a_line_break(tmp_path: Path) -> Verdict:
    token = "test-token-first-line\ntest-token-second-line"
    run = run_action(tmp_path, {"github-token": token})
    verdict = Verdict()
    one_clear_error(verdict, run, "input 'github-token' contains a line break or another control character")
    masks = [rest for name, rest in workflow_commands(run.stdout) if name == "add-mask"]
    verdict.check(
        {"test-token-first-line", "test-token-second-line"} <= set(masks), "each line is not masked alone"
    )
    return finish(verdict, run, None, secrets=(token,))


def secret_in_a_commit_message(tmp_path: Path) -> Verdict:
    remote = _remote(tmp_path, f"fix: rotate the leaked token {TOKEN}", "feat: add widgets")
    with _serve(remote) as emu:
        run = remote.run(emu, token=TOKEN)
    verdict = Verdict()
    verdict.check(run.outputs.get("outcome") == "committed", f"outcome {run.outputs.get('outcome')}")
    text = remote.file_at_head("ai_patch.md") if run.outputs.get("outcome") == "committed" else ""
    verdict.check("rotate the leaked token ***" in text, "the committed notes do not show the token redacted")
    return finish(verdict, run, remote)


def secret_in_the_model_answer(tmp_path: Path) -> Verdict:
    remote = _remote(tmp_path)
    model = _model(summary=f"Keys: {API_KEY} and {TOKEN}.")
    with OpenAIServer(api_key=API_KEY, responder=model) as llm, _serve(remote) as emu:
        run = remote.run(emu, {"openai-api-key": API_KEY, "base-url": llm.base_url}, token=TOKEN)
    verdict = Verdict()
    verdict.check(run.outputs.get("writer") == "llm", f"writer {run.outputs.get('writer')}: {run.stdout}")
    verdict.check(run.outputs.get("outcome") == "committed", f"outcome {run.outputs.get('outcome')}")
    return finish(verdict, run, remote)


# -- workflow commands ------------------------------------------------------------------------------


def commands_from_commits(tmp_path: Path) -> Verdict:
    remote = _remote(
        tmp_path,
        f"fix: x\n\n::error::{FORGED}",
        f"::error title=x::{FORGED} in a subject",
        f"feat: y ::warning::{FORGED}",
    )
    remote.work.commit(f"docs: z\n\n::add-mask::{FORGED}\n##[error]{FORGED}")
    # A template that starts lines with the items' text, as a plain changelog template may.
    template = "{% for s in notes.sections %}{% for i in s.items %}{{ i.text }}\n{% endfor %}{% endfor %}"
    remote.work.commit("chore: notes template", files={TEMPLATE: template})
    with _serve(remote) as emu:
        run = remote.run(emu, {"dry-run": "true", "template": TEMPLATE}, token=TOKEN)
    verdict = Verdict()
    verdict.check(run.outputs.get("outcome") == "dry-run", f"outcome {run.outputs.get('outcome')}")
    verdict.check(FORGED in run.stdout, "the notes were not printed to the log")
    return finish(verdict, run, remote)


def commands_from_the_model(tmp_path: Path) -> Verdict:
    remote = _remote(tmp_path)
    model = _model(summary=f"::error::{FORGED}", item=lambda rest: f"::warning::{FORGED} {rest}")
    with OpenAIServer(api_key=API_KEY, responder=model) as llm, _serve(remote) as emu:
        run = remote.run(
            emu, {"openai-api-key": API_KEY, "base-url": llm.base_url, "dry-run": "true"}, token=TOKEN
        )
    verdict = Verdict()
    verdict.check(run.outputs.get("writer") == "llm", f"writer {run.outputs.get('writer')}")
    verdict.check(FORGED in run.stdout, "the notes were not printed to the log")
    return finish(verdict, run, remote)


def file_name_with_a_line_break(tmp_path: Path) -> Verdict:
    run = run_action(tmp_path, {"github-token": TOKEN, "file": f"notes.md\n::error::{FORGED}"})
    verdict = Verdict()
    one_clear_error(verdict, run, "input 'file' contains a line break")
    return finish(verdict, run, None)


# -- mentions and invisible text --------------------------------------------------------------------


def _committed_markdown(verdict: Verdict, run: ActionRun, remote: Remote) -> str:
    verdict.check(run.outputs.get("outcome") == "committed", f"outcome {run.outputs.get('outcome')}")
    return remote.file_at_head("ai_patch.md") if run.outputs.get("outcome") == "committed" else ""


def mentions_with_odd_backticks_offline(tmp_path: Path) -> Verdict:
    remote = _remote(
        tmp_path,
        "fix: handle a ` in names, thanks @alice",
        "feat: `x` and @bob `",
        "fix: ``@carol` and \\@dave and &#64;erin",
        "feat: admin\u202e\u2066 gpj.exe\u200b <img src=x> ![x](http://x/y.png)",
    )
    with _serve(remote) as emu:
        run = remote.run(emu, token=TOKEN)
    verdict = Verdict()
    text = _committed_markdown(verdict, run, remote)
    verdict.problems += markdown_problems(text)
    verdict.check("thanks" in text and "gpj.exe" in text, "the items are missing")
    return finish(verdict, run, remote)


def mentions_with_odd_backticks_llm(tmp_path: Path) -> Verdict:
    remote = _remote(tmp_path)
    model = _model(summary="Thanks ` @alice and `@bob", item=lambda rest: f"Improved ` {rest} @carol \u202e")
    with OpenAIServer(api_key=API_KEY, responder=model) as llm, _serve(remote) as emu:
        run = remote.run(emu, {"openai-api-key": API_KEY, "base-url": llm.base_url}, token=TOKEN)
    verdict = Verdict()
    verdict.check(run.outputs.get("writer") == "llm", f"writer {run.outputs.get('writer')}")
    text = _committed_markdown(verdict, run, remote)
    verdict.problems += markdown_problems(text)
    verdict.check("Improved" in text, "the model's items are missing")
    return finish(verdict, run, remote)


# -- sizes ------------------------------------------------------------------------------------------


def one_megabyte_commit_subject(tmp_path: Path) -> Verdict:
    remote = _remote(tmp_path, "feat: add widgets")
    message = tmp_path / "message.txt"
    message.write_text("fix: " + "very long subject " * 60_000)  # 1 MB: too long for `git commit -m`
    remote.work.git("commit", "-q", "--allow-empty", "-F", str(message))
    with _serve(remote) as emu:
        run = remote.run(emu, token=TOKEN)
    verdict = Verdict()
    text = _committed_markdown(verdict, run, remote)
    verdict.check(0 < len(text.encode()) < 20_000, f"the notes file has {len(text.encode()):,} bytes")
    verdict.check("very long subject very long subject" in text and " …" in text, "the item is not clipped")
    return finish(verdict, run, remote)


# -- files the run leaves ---------------------------------------------------------------------------


def failure_log_outside_the_workspace(tmp_path: Path) -> Verdict:
    """An absolute path: tests/test_security_settings.py."""
    run = run_action(tmp_path, {"github-token": TOKEN, "failure-log": "../outside.log"})
    verdict = Verdict()
    one_clear_error(verdict, run, "input 'failure-log' must be a path inside the workspace")
    verdict.check(
        (run.workspace / "logs/patch_failures.log").is_file(), "no failure log at the default place"
    )
    verdict.check(not (tmp_path / "outside.log").exists(), "a file was written outside the workspace")
    return finish(verdict, run, None)


def files_belong_to_the_workspace_owner(tmp_path: Path) -> Verdict:
    """On hosted runners the workspace belongs to uid 1001 while the container runs as root."""
    remote = _remote(tmp_path)
    owner = 1001
    verdict = Verdict()
    with serve(remote, tokens={"read-only": {"contents:read"}}) as emu:
        workspace = tmp_path / f"run{1}" / "workspace"
        workspace.mkdir(parents=True)
        if os.geteuid() == 0:
            os.chown(workspace, owner, owner)
        else:
            owner = os.geteuid()
        run = run_action(
            workspace.parent,
            {"github-token": "read-only"},
            env={"GITHUB_API_URL": emu.base_url, "GITHUB_SERVER_URL": "https://github.com"},
        )
    verdict.check(run.outputs.get("outcome") == "failed", f"outcome {run.outputs.get('outcome')}")
    for name in ("logs", "logs/patch_failures.log", "logs/patch_notes_unpublished.md"):
        path = run.workspace / name
        uid = path.stat().st_uid if path.exists() else None
        verdict.check(uid == owner, f"{name} belongs to uid {uid}, not the workspace's owner {owner}")
    return finish(verdict, run, remote, secrets=(TOKEN,))


def logs_folder_linked_outside(tmp_path: Path) -> Verdict:
    outside = tmp_path / "outside"
    outside.mkdir()
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "logs").symlink_to(outside)
    run = run_action(tmp_path, {"github-token": TOKEN, "mode": "sideways"})
    verdict = Verdict()
    verdict.check(run.code == 1 and len(errors(run)) == 1, f"exit {run.code}, errors {errors(run)}")
    verdict.check(not any(outside.iterdir()), "the failure log was written through the link")
    verdict.check("logs is a symbolic link" in run.stderr, "the log does not say why there is no failure log")
    return finish(verdict, run, None)


def _cli(repo: GitRepo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "patchpush", *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(repo.path), "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )


def _clone(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "clone")
    repo.commit("feat: add widgets")
    repo.commit("fix: crash on empty input")
    return repo


def _cli_verdict(result: subprocess.CompletedProcess[str], expected: str) -> Verdict:
    verdict = Verdict()
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    verdict.check(result.returncode == 1, f"exit {result.returncode}: {result.stderr[-500:]}")
    verdict.check(len(lines) == 1 and expected in lines[0], f"not one clear error: {result.stderr[-500:]}")
    return verdict


def local_notes_file_is_a_link(tmp_path: Path) -> Verdict:
    repo = _clone(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("not yours\n")
    (repo.path / "ai_patch.md").symlink_to(victim)
    verdict = _cli_verdict(_cli(repo), "ai_patch.md is a symbolic link")
    verdict.check(victim.read_text() == "not yours\n", "the file behind the link was overwritten")
    return verdict


def local_notes_file_is_not_utf8(tmp_path: Path) -> Verdict:
    repo = _clone(tmp_path)
    (repo.path / "CHANGELOG.md").write_bytes(b"# Changes\n\xff\xfe caf\xe9\n")
    verdict = _cli_verdict(_cli(repo, "--file", "CHANGELOG.md", "--mode", "prepend"), "is not UTF-8 text")
    verdict.check((repo.path / "CHANGELOG.md").read_bytes().startswith(b"# Changes\n\xff"), "file changed")
    return verdict


def local_template_is_a_link(tmp_path: Path) -> Verdict:
    repo = _clone(tmp_path)
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY 0001\n")
    (repo.path / "notes.j2").symlink_to(secret)
    result = _cli(repo, "--template", "notes.j2", "--dry-run")
    verdict = _cli_verdict(result, "notes.j2 is a symbolic link")
    verdict.check("PRIVATE KEY" not in result.stdout + result.stderr, "the linked file was printed")
    return verdict


CASES: dict[str, Callable[[Path], Verdict]] = {
    case.__name__: case
    for case in (
        template_runs_no_code,
        template_reads_no_environment,
        template_huge_range_does_not_hang,
        template_include_is_refused,
        template_division_by_zero,
        template_50_mb_output,
        config_base_url_cannot_take_the_key,
        config_provider_cannot_take_the_token,
        config_repository_cannot_redirect_the_token,
        config_billion_laughs,
        config_deep_nesting,
        config_timeout_nan,
        config_timeout_inf,
        config_since_overflow,
        config_file_with_nul,
        base_url_metadata_address,
        secret_with_a_line_break,
        secret_in_a_commit_message,
        secret_in_the_model_answer,
        commands_from_commits,
        commands_from_the_model,
        file_name_with_a_line_break,
        mentions_with_odd_backticks_offline,
        mentions_with_odd_backticks_llm,
        one_megabyte_commit_subject,
        failure_log_outside_the_workspace,
        files_belong_to_the_workspace_owner,
        logs_folder_linked_outside,
        local_notes_file_is_a_link,
        local_notes_file_is_not_utf8,
        local_template_is_a_link,
    )
}
