"""The action with the LLM writer, end to end: entrypoint.py against the loopback GitHub and the
loopback OpenAI-compatible server, with the real PyGithub and openai clients."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.github_server import GitHubEmulator
from tests.fakes.openai_server import OpenAIServer, Reply, misattributing
from tests.github_env import Remote, serve

_LINE = re.compile(r"^(\d+) (.*)$", re.MULTILINE)


def model(request: dict[str, Any]) -> Reply:
    """A model that writes one item per change it was shown, citing its id, and invents one ref."""
    if request["response_format"]["json_schema"]["name"] == "notes_summary":
        return Reply.content(json.dumps({"title": "Widgets", "summary": "Many changes."}))
    lines = _LINE.findall(request["messages"][1]["content"])
    items = [
        {"text": "Improved " + rest.split(" | ")[0].split(": ", 1)[-1], "refs": [key]} for key, rest in lines
    ]
    items.append({"text": "A feature nobody made", "refs": ["999"]})
    return Reply.content(
        json.dumps(
            {
                "title": "Widgets 2.0",
                "summary": "Better widgets.",
                "sections": [{"title": "Features", "items": items}],
            }
        )
    )


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    remote = Remote(tmp_path)
    remote.work.commit("chore: initial import")
    remote.work.tag("v1.0.0")
    for n in range(6):
        remote.work.commit(f"feat(api): endpoint {n}")
    return remote


@pytest.fixture
def llm() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key="sk-test-key-0000", responder=model) as server:
        yield server


def run_llm(remote: Remote, emu: GitHubEmulator, llm: OpenAIServer, **inputs: str) -> Any:
    return remote.run(
        emu, {"openai-api-key": "sk-test-key-0000", "base-url": llm.base_url, "timeout": "2", **inputs}
    )


def test_llm_notes_are_committed_grounded_and_complete(remote: Remote, llm: OpenAIServer) -> None:
    with serve(remote) as emu:
        run = run_llm(remote, emu, llm)
        assert run.outputs["outcome"] == "committed", run.stdout
        assert run.outputs["writer"] == "llm"
        assert run.outputs["invented-refs"] == "1"
        assert int(run.outputs["tokens-in"]) > 0 and int(run.outputs["tokens-out"]) > 0
        text = remote.file_at_head("ai_patch.md")
        assert "## Widgets 2.0" in text
        assert "nobody made" not in text
        for n in range(6):
            assert f"Improved endpoint {n}" in text
        # The key went to the model server only as a credential; never into the log, summary or outputs.
        printed = "\n".join(line for line in run.stdout.splitlines() if not line.startswith("::add-mask::"))
        assert "sk-test-key-0000" not in run.summary + json.dumps(run.outputs) + printed


def test_a_failing_model_still_publishes_offline_notes(remote: Remote, llm: OpenAIServer) -> None:
    llm.script(*[Reply.server_error(500) for _ in range(10)])
    with serve(remote) as emu:
        run = run_llm(remote, emu, llm)
        assert run.code == 0
        assert run.outputs["outcome"] == "committed"
        assert run.outputs["writer"] == "offline"
        assert "500" in run.outputs["fallback-reason"]
        assert "[!WARNING]" in run.summary and "offline writer" in run.summary
        assert "LLM writer failed" in (run.workspace / "logs/patch_failures.log").read_text()
        assert "endpoint 5" in remote.file_at_head("ai_patch.md")


def test_github_models_uses_the_workflow_token_and_its_budget(remote: Remote, tmp_path: Path) -> None:
    with OpenAIServer(api_key="test-token", responder=model) as server, serve(remote) as emu:
        run = remote.run(emu, {"provider": "github-models", "base-url": server.github_models_url})
        assert run.outputs["writer"] == "llm", run.stdout
        assert server.requests and all(r.path == "/inference/chat/completions" for r in server.requests)
        assert all(r.prompt_tokens <= 8000 for r in server.requests)
        assert all(r.json["model"] == "openai/gpt-4o-mini" for r in server.requests)


def test_budget_is_never_exceeded_on_a_large_range(tmp_path: Path, llm: OpenAIServer) -> None:
    remote = Remote(tmp_path)
    for n in range(400):
        remote.work.commit(f"fix(core): repair widget {n} when the input is empty or malformed")
    with serve(remote) as emu:
        run = run_llm(remote, emu, llm, **{"max-input-tokens": "1500"})
        assert run.outputs["writer"] == "llm", run.stdout
        chats = [r for r in llm.requests if r.path.endswith("/chat/completions")]
        assert len(chats) >= 4
        assert max(r.prompt_tokens for r in chats) <= 1500
        text = remote.file_at_head("ai_patch.md")
        missing = [n for n in range(400) if not re.search(rf"repair widget {n}\b", text)]
        assert missing == []


THINGS = ("users endpoint", "CSV export", "dark mode", "login redirect", "retry budget", "plugin loader")


@pytest.fixture
def mixed_remote(tmp_path: Path) -> Remote:
    remote = Remote(tmp_path)
    remote.work.commit("chore: initial import")
    remote.work.tag("v1.0.0")
    for n, thing in enumerate(THINGS):
        remote.work.commit(f"feat(api): support {thing}" if n % 2 == 0 else f"fix(core): repair {thing}")
    return remote


def test_a_misattributing_model_publishes_faithful_complete_notes(mixed_remote: Remote) -> None:
    """The model cites line N while describing N+1, swaps feat and fix, cites a change twice and titles
    the notes with a commit subject: what is published still says what each link points to."""
    with (
        OpenAIServer(api_key="sk-test-key-0000", responder=misattributing) as llm,
        serve(mixed_remote) as emu,
    ):
        run = run_llm(mixed_remote, emu, llm)
        assert run.outputs["outcome"] == "committed", run.stdout
        text = mixed_remote.file_at_head("ai_patch.md")
        shas = {
            subject: sha
            for sha, subject in (
                line.split(" ", 1)
                for line in mixed_remote.bare_git("log", "--format=%H %s", "main").splitlines()
            )
        }
    assert run.outputs["writer"] == "llm"
    assert (run.outputs["reattributed"], run.outputs["replaced"]) == ("5", "2")
    assert run.outputs["resectioned"] == "5" and run.outputs["coverage-added"] == "1"
    assert not text.startswith("## feat")  # the title is the offline one, not a commit header
    features, fixes = text.split("### Features")[1].split("### Fixes")
    for n, thing in enumerate(THINGS):
        subject = f"feat(api): support {thing}" if n % 2 == 0 else f"fix(core): repair {thing}"
        sha = shas[subject]
        [line] = [line for line in text.splitlines() if line.startswith("- ") and sha[:7] in line]  # once
        assert [t for t in THINGS if t in line] == [thing]  # ...on the line that links it, alone
        assert line in (features if n % 2 == 0 else fixes)  # ...in its type's section
    assert "Various improvements" not in text
    assert "brings many improvements" not in text  # a summary naming no change: the offline one
    assert (
        "- **model text kept**: 5 of 6 items (5 re-attributed, 5 moved to their type's section, "
        in run.summary
    )


def completion(content: str, **fields: Any) -> dict[str, Any]:
    choice = {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
    return {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [choice],
        **fields,
    }


HUGE = json.dumps(
    {
        "title": "T",
        "summary": "S",
        "sections": [{"title": "Features", "items": [{"text": "x" * 20_000_000, "refs": ["1"]}]}],
    }
)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply.malformed(), "not JSON"),
        (Reply.completion_json({"object": "chat.completion", "choices": 3}), "returned no answer"),
        (Reply.completion_json(completion("{}", usage={"prompt_tokens": "lots"})), "odd token usage"),
        (Reply.sse('{"title": "T", "summary": "S", "sections": []}'), "event stream"),
        (Reply.completion_json(completion(HUGE)), "more than"),
    ],
    ids=["malformed", "wrong-shape", "odd-usage", "sse", "20mb"],
)
def test_a_hostile_answer_never_crashes_the_action(remote: Remote, reply: Reply, reason: str) -> None:
    with OpenAIServer(api_key="sk-test-key-0000") as llm, serve(remote) as emu:
        llm.script(reply)
        run = run_llm(remote, emu, llm)
        assert run.code == 0, run.stderr
        assert run.outputs["outcome"] == "committed" and run.outputs["writer"] == "offline"
        assert reason in run.outputs["fallback-reason"]
        assert len(remote.file_at_head("ai_patch.md")) < 10_000
    assert "offline writer" in run.summary


def test_an_api_key_with_non_ascii_characters_falls_back(remote: Remote, llm: OpenAIServer) -> None:
    with serve(remote) as emu:
        run = remote.run(emu, {"openai-api-key": "schlüssel-0000", "base-url": llm.base_url, "timeout": "2"})
        assert run.code == 0, run.stderr
        assert run.outputs["writer"] == "offline"
        assert "non-ASCII" in run.outputs["fallback-reason"]
    assert llm.requests == []
