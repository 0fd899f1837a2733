"""The fake OpenAI server, exercised with the real `openai` SDK over real HTTP (nothing patched)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fakes import openai_server
from tests.fakes.openai_server import (
    DEFAULT_CONTENT,
    OpenAIServer,
    Reply,
    count_prompt_tokens,
    count_text_tokens,
    load_replies,
)

KEY = "test-key"
MESSAGES: Any = [  # typed loosely: the SDK wants its TypedDicts
    {"role": "system", "content": "You write patch notes."},
    {"role": "user", "content": "feat: add a thing"},
]
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def srv() -> Iterator[OpenAIServer]:
    with OpenAIServer(api_key=KEY) as server:
        yield server


def client(srv: OpenAIServer, **kwargs: Any) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 10)
    return openai.OpenAI(base_url=srv.base_url, api_key=kwargs.pop("api_key", KEY), **kwargs)


def chat(c: openai.OpenAI, **kwargs: Any) -> Any:
    kwargs.setdefault("model", "gpt-4o-mini")
    kwargs.setdefault("messages", MESSAGES)
    return c.chat.completions.create(**kwargs)


# -- token counting ---------------------------------------------------------------------------------


def test_token_counting_matches_o200k_and_the_cookbook_formula() -> None:
    assert count_text_tokens("hello world") == 2  # o200k_base: "hello", " world"
    assert count_text_tokens("") == 0
    one = [{"role": "user", "content": "hello world"}]
    # 3 priming + 3 per message + "user" (1) + "hello world" (2)
    assert count_prompt_tokens(one) == 3 + 3 + 1 + 2
    named = [{"role": "user", "name": "bob", "content": "hello world"}]
    assert count_prompt_tokens(named) == count_prompt_tokens(one) + count_text_tokens("bob") + 1
    parts = [{"role": "user", "content": [{"type": "text", "text": "hello world"}]}]
    assert count_prompt_tokens(parts) == count_prompt_tokens(one)


def test_token_counting_falls_back_to_four_chars_per_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai_server, "_encoder", None)
    monkeypatch.setattr(openai_server, "_encoder_failed", True)
    assert count_text_tokens("abcdefghi") == 3  # ceil(9 / 4)


# -- OpenAI ---------------------------------------------------------------------------------------


def test_normal_completion_with_usage_and_headers(srv: OpenAIServer) -> None:
    srv.script(Reply.content("hello world"))
    raw = client(srv).chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    completion = raw.parse()

    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o-mini"
    assert completion.system_fingerprint and completion.system_fingerprint.startswith("fp_")
    choice = completion.choices[0]
    assert (choice.index, choice.finish_reason, choice.logprobs) == (0, "stop", None)
    assert (choice.message.role, choice.message.content, choice.message.refusal) == (
        "assistant",
        "hello world",
        None,
    )
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == count_prompt_tokens(MESSAGES)
    assert completion.usage.completion_tokens == 2
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + 2

    assert raw.headers["x-request-id"].startswith("req_")
    assert completion._request_id == raw.headers["x-request-id"]
    assert int(raw.headers["openai-processing-ms"]) >= 0
    assert raw.headers["x-ratelimit-remaining-requests"] == "9999"

    (rec,) = srv.requests
    assert rec.path == "/v1/chat/completions"
    assert rec.reply_status == 200
    assert rec.json["messages"] == MESSAGES
    assert rec.prompt_tokens == count_prompt_tokens(MESSAGES)
    assert rec.headers["authorization"] == "Bearer <redacted>"
    assert KEY not in json.dumps(rec.headers)
    assert rec.headers["x-stainless-retry-count"] == "0"
    assert "feat: add a thing" in rec.prompt_text


def test_explicit_usage_finish_reason_and_default_reply(srv: OpenAIServer) -> None:
    srv.script(Reply.content("cut", finish_reason="length", usage=(1000, 7)))
    c = client(srv)
    first = chat(c)
    assert first.choices[0].finish_reason == "length"
    assert first.usage is not None
    assert (first.usage.prompt_tokens, first.usage.completion_tokens, first.usage.total_tokens) == (
        1000,
        7,
        1007,
    )
    assert chat(c).choices[0].message.content == DEFAULT_CONTENT
    assert srv.pending == 0


def test_queue_first_then_responder_sees_the_request(srv: OpenAIServer) -> None:
    seen: list[dict[str, Any]] = []

    def responder(request: dict[str, Any]) -> Reply:
        seen.append(request)
        return Reply.content("echo: " + request["messages"][-1]["content"])

    srv.responder = responder
    srv.script(Reply.content("scripted"))
    c = client(srv)
    assert chat(c).choices[0].message.content == "scripted"
    assert chat(c).choices[0].message.content == "echo: feat: add a thing"
    assert len(seen) == 1 and seen[0]["model"] == "gpt-4o-mini"


def test_response_format_is_accepted_and_recorded(srv: OpenAIServer) -> None:
    schema = {
        "type": "json_schema",
        "json_schema": {"name": "notes", "strict": True, "schema": {"type": "object", "properties": {}}},
    }
    c = client(srv)
    assert json.loads(chat(c, response_format=schema).choices[0].message.content or "") == json.loads(
        DEFAULT_CONTENT
    )
    chat(c, response_format={"type": "json_object"})
    assert [r.json["response_format"]["type"] for r in srv.requests] == ["json_schema", "json_object"]


def test_stream_true_is_rejected(srv: OpenAIServer) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        chat(client(srv), stream=True)
    assert info.value.param == "stream"
    assert srv.requests[0].reply_status == 400


def test_rate_limit_then_success_honours_retry_after(srv: OpenAIServer) -> None:
    srv.script(Reply.rate_limited(0.4), Reply.content("ok"))
    started = time.monotonic()
    completion = chat(client(srv, max_retries=2))
    elapsed = time.monotonic() - started

    assert completion.choices[0].message.content == "ok"
    assert elapsed >= 0.4  # the SDK waited retry-after-ms, not its own 0.5 s * jitter backoff
    assert [r.reply_status for r in srv.requests] == [429, 200]
    assert [r.headers["x-stainless-retry-count"] for r in srv.requests] == ["0", "1"]


def test_rate_limit_error_body_and_headers(srv: OpenAIServer) -> None:
    srv.script(Reply.rate_limited(1.5))
    with pytest.raises(openai.RateLimitError) as info:
        chat(client(srv))
    err = info.value
    assert err.status_code == 429
    assert (err.code, err.type, err.param) == ("rate_limit_exceeded", "requests", None)
    assert "Please try again in 1.5s." in err.message
    assert err.response.headers["retry-after"] == "2"
    assert err.response.headers["retry-after-ms"] == "1500"
    assert err.response.headers["x-ratelimit-remaining-requests"] == "0"


def test_server_error_is_retried(srv: OpenAIServer) -> None:
    srv.script(Reply.server_error(), Reply.content("recovered"))
    assert chat(client(srv, max_retries=1)).choices[0].message.content == "recovered"
    assert [r.reply_status for r in srv.requests] == [500, 200]


def test_server_error_body_and_x_should_retry(srv: OpenAIServer) -> None:
    srv.script(Reply.server_error(503, should_retry=False))
    with pytest.raises(openai.InternalServerError) as info:
        chat(client(srv, max_retries=2))
    assert info.value.status_code == 503
    assert info.value.type == "server_error"
    assert [r.reply_status for r in srv.requests] == [503]  # x-should-retry: false stops the SDK


def test_hang_triggers_client_timeout_and_does_not_block_shutdown() -> None:
    srv = OpenAIServer(api_key=KEY).start()
    try:
        srv.script(Reply.hang(20))
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            chat(client(srv, timeout=0.5, max_retries=0))
        assert time.monotonic() - started < 3
        assert len(srv.requests) == 1
    finally:
        started = time.monotonic()
        srv.stop()
        assert time.monotonic() - started < 2


def test_hang_then_answers(srv: OpenAIServer) -> None:
    srv.script(Reply.hang(0.3, Reply.content("late")))
    started = time.monotonic()
    assert chat(client(srv)).choices[0].message.content == "late"
    assert time.monotonic() - started >= 0.3


def test_context_length_exceeded(srv: OpenAIServer) -> None:
    srv.script(Reply.context_length_exceeded(max_tokens=8192, prompt_tokens=9000))
    with pytest.raises(openai.BadRequestError) as info:
        chat(client(srv))
    err = info.value
    assert (err.code, err.type, err.param) == ("context_length_exceeded", "invalid_request_error", "messages")
    assert err.body == {
        "message": "This model's maximum context length is 8192 tokens. However, your messages resulted "
        "in 9000 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }


def test_max_context_tokens_enforced_without_consuming_the_script() -> None:
    with OpenAIServer(api_key=KEY, max_context_tokens=50) as srv:
        srv.script(Reply.content("short ok"))
        c = client(srv)
        long_messages = [{"role": "user", "content": "word " * 200}]
        with pytest.raises(openai.BadRequestError) as info:
            chat(c, messages=long_messages)
        counted = count_prompt_tokens(long_messages)
        assert info.value.code == "context_length_exceeded"
        assert "maximum context length is 50 tokens" in info.value.message
        assert f"resulted in {counted} tokens" in info.value.message
        assert srv.pending == 1
        assert chat(c).choices[0].message.content == "short ok"
        assert [(r.reply_status, r.prompt_tokens) for r in srv.requests] == [
            (400, counted),
            (200, count_prompt_tokens(MESSAGES)),
        ]


def test_bad_or_missing_key(srv: OpenAIServer) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        chat(client(srv, api_key="fakekey-abcdefghijklmnopWXYZ"))
    err = info.value
    assert (err.code, err.type) == ("invalid_api_key", "invalid_request_error")
    assert isinstance(err.body, dict)
    assert err.body["message"].startswith("Incorrect API key provided: fakekey-" + "*" * 16 + "WXYZ. ")
    assert "abcdefghijklmnop" not in err.message

    response = httpx.post(srv.base_url + "/chat/completions", json={"model": "m", "messages": MESSAGES})
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("You didn't provide an API key.")
    assert response.json()["error"]["code"] is None
    assert [r.reply_status for r in srv.requests] == [401, 401]


def test_no_api_key_configured_accepts_anything() -> None:
    with OpenAIServer(api_key=None) as srv:
        assert chat(client(srv, api_key="whatever")).choices[0].message.content == DEFAULT_CONTENT


def test_custom_error_reply(srv: OpenAIServer) -> None:
    body = {"error": {"message": "nope", "type": "invalid_request_error", "param": None, "code": "x"}}
    srv.script(Reply.error(403, body, {"x-custom": "1"}))
    with pytest.raises(openai.PermissionDeniedError) as info:
        chat(client(srv))
    assert info.value.code == "x"
    assert info.value.response.headers["x-custom"] == "1"


def test_models_list_and_unknown_paths(srv: OpenAIServer) -> None:
    c = client(srv)
    assert "gpt-4o-mini" in [m.id for m in c.models.list()]
    response = httpx.post(
        srv.base_url + "/chat/completion", headers={"Authorization": f"Bearer {KEY}"}, json={}
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (POST /v1/chat/completion)"
    bad_json = httpx.post(
        srv.base_url + "/chat/completions",
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["message"].startswith("We could not parse the JSON body")


def test_known_models_are_enforced() -> None:
    with OpenAIServer(api_key=KEY, known_models=["gpt-4o-mini"]) as srv:
        with pytest.raises(openai.NotFoundError) as info:
            chat(client(srv), model="gpt-9")
        assert info.value.code == "model_not_found"
        assert chat(client(srv)).model == "gpt-4o-mini"


# -- Azure OpenAI ---------------------------------------------------------------------------------


def test_azure_deployment_path_and_api_key_header(srv: OpenAIServer) -> None:
    srv.script(Reply.content("from azure"))
    az = openai.AzureOpenAI(
        azure_endpoint=srv.azure_endpoint, api_version="2024-10-21", api_key=KEY, max_retries=0
    )
    completion = az.chat.completions.create(model="my-deployment", messages=MESSAGES)
    assert completion.choices[0].message.content == "from azure"
    assert completion.model == "my-deployment"

    (rec,) = srv.requests
    assert rec.path == "/openai/deployments/my-deployment/chat/completions"
    assert rec.query == {"api-version": "2024-10-21"}
    assert (rec.flavor, rec.deployment) == ("azure", "my-deployment")
    assert rec.headers["api-key"] == "<redacted>"
    assert "authorization" not in rec.headers


def test_azure_client_with_fixed_deployment_and_v1_route(srv: OpenAIServer) -> None:
    az = openai.AzureOpenAI(
        azure_endpoint=srv.azure_endpoint,
        azure_deployment="fixed",
        api_version="2024-10-21",
        api_key=KEY,
        max_retries=0,
    )
    az.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    v1 = openai.OpenAI(base_url=srv.azure_endpoint + "/openai/v1/", api_key=KEY, max_retries=0)
    v1.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert [r.path for r in srv.requests] == [
        "/openai/deployments/fixed/chat/completions",
        "/openai/v1/chat/completions",
    ]
    assert all(r.reply_status == 200 for r in srv.requests)


def test_azure_errors(srv: OpenAIServer) -> None:
    bad = openai.AzureOpenAI(
        azure_endpoint=srv.azure_endpoint, api_version="2024-10-21", api_key="wrong", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError) as auth:
        bad.chat.completions.create(model="d", messages=MESSAGES)
    assert auth.value.code == "401"
    assert auth.value.body == {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to "
        "provide a valid key for an active subscription and use a correct regional API endpoint for your "
        "resource.",
    }

    srv.script(Reply.rate_limited(3))
    good = openai.AzureOpenAI(
        azure_endpoint=srv.azure_endpoint, api_version="2024-10-21", api_key=KEY, max_retries=0
    )
    with pytest.raises(openai.RateLimitError) as limited:
        good.chat.completions.create(model="d", messages=MESSAGES)
    assert limited.value.code == "429"
    assert "API version 2024-10-21" in limited.value.message
    assert "Please retry after 3 seconds." in limited.value.message


def test_azure_unknown_deployment() -> None:
    with OpenAIServer(api_key=KEY, azure_deployments=["known"]) as srv:
        az = openai.AzureOpenAI(
            azure_endpoint=srv.azure_endpoint, api_version="2024-10-21", api_key=KEY, max_retries=0
        )
        with pytest.raises(openai.NotFoundError) as info:
            az.chat.completions.create(model="other", messages=MESSAGES)
        assert info.value.code == "DeploymentNotFound"


# -- GitHub Models ----------------------------------------------------------------------------------


def test_github_models_endpoint(srv: OpenAIServer) -> None:
    gh = openai.OpenAI(base_url=srv.github_models_url, api_key=KEY, max_retries=0)
    completion = gh.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    assert completion.model == "openai/gpt-4o-mini"
    (rec,) = srv.requests
    assert (rec.path, rec.flavor, rec.reply_status) == ("/inference/chat/completions", "github", 200)
    assert rec.headers["authorization"] == "Bearer <redacted>"

    bad = openai.OpenAI(base_url=srv.github_models_url, api_key="ghp_wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
    assert info.value.code == "unauthorized"


def test_github_models_token_limit() -> None:
    with OpenAIServer(api_key=KEY, max_context_tokens=20) as srv:
        gh = openai.OpenAI(base_url=srv.github_models_url, api_key=KEY, max_retries=2)
        with pytest.raises(openai.APIStatusError) as info:
            gh.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES)
        assert info.value.status_code == 413
        assert info.value.code == "tokens_limit_reached"
        message = "Request body too large for gpt-4o-mini model. Max size: 20 tokens."
        assert info.value.body == {"code": "tokens_limit_reached", "message": message, "details": message}
        assert len(srv.requests) == 1  # 413 is not retried


# -- replies from JSON and the command line ----------------------------------------------------------


def test_reply_from_dict() -> None:
    assert Reply.from_dict({"content": "x", "usage": [1, 2]}) == Reply.content("x", usage=(1, 2))
    assert Reply.from_dict({"status": 429, "retry_after": 2}) == Reply.rate_limited(2)
    assert Reply.from_dict({"status": 502}) == Reply.server_error(502)
    assert (
        Reply.from_dict({"status": 400, "code": "context_length_exceeded"}) == Reply.context_length_exceeded()
    )
    assert Reply.from_dict({"hang": 1, "content": "y"}) == Reply.hang(1, Reply.content("y"))
    assert Reply.from_dict({"status": 418, "body": {"a": 1}}) == Reply.error(418, {"a": 1})
    with pytest.raises(ValueError):
        Reply.from_dict({"nothing": True})


def test_cli_serves_scripted_replies_until_sigterm(tmp_path: Path) -> None:
    replies = tmp_path / "replies.jsonl"
    replies.write_text('{"status": 429, "retry_after": 0.1}\n\n{"content": "from file"}\n', encoding="utf-8")
    assert len(load_replies(replies)) == 2
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_server", "--port", "0", "--replies", str(replies)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        c = openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=1, timeout=10)
        assert chat(c).choices[0].message.content == "from file"
        assert chat(c).choices[0].message.content == DEFAULT_CONTENT
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(timeout=5) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


# -- hostile bodies, output caps, the misattributing model -------------------------------------------


def test_raw_bodies_are_sent_as_they_are(srv: OpenAIServer) -> None:
    srv.script(Reply.malformed(), Reply.sse('{"title": "T"}'))
    first = httpx.post(srv.base_url + "/chat/completions", json={"model": "m", "messages": MESSAGES},
                       headers={"Authorization": f"Bearer {KEY}"})
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        first.json()
    second = httpx.post(srv.base_url + "/chat/completions", json={"model": "m", "messages": MESSAGES},
                        headers={"Authorization": f"Bearer {KEY}"})
    assert second.headers["content-type"] == "text/event-stream"
    events = [json.loads(line[6:]) for line in second.text.split("\n\n") if line.startswith("data: {")]
    assert "".join(e["choices"][0]["delta"]["content"] for e in events) == '{"title": "T"}'
    assert second.text.endswith("data: [DONE]\n\n")


def test_an_answer_longer_than_the_requests_cap_is_cut_there(srv: OpenAIServer) -> None:
    srv.script(Reply.content("word " * 500), Reply.content("word " * 5))
    cut = chat(client(srv), max_tokens=20)
    assert cut.choices[0].finish_reason == "length" and cut.usage.completion_tokens == 20
    assert count_text_tokens(cut.choices[0].message.content) == 20
    whole = chat(client(srv), max_completion_tokens=20)
    assert whole.choices[0].finish_reason == "stop" and whole.choices[0].message.content == "word " * 5


def test_a_model_that_takes_one_cap_parameter_refuses_the_other() -> None:
    with OpenAIServer(api_key=KEY, output_cap="max_completion_tokens") as srv:
        with pytest.raises(openai.BadRequestError) as refused:
            chat(client(srv), max_tokens=10)
        assert refused.value.code == "unsupported_parameter" and refused.value.param == "max_tokens"
        assert "Use 'max_completion_tokens' instead" in refused.value.message
        assert chat(client(srv), max_completion_tokens=10).choices[0].finish_reason == "stop"


def test_the_misattributing_model_shifts_splices_swaps_repeats_and_titles_with_a_subject() -> None:
    prompt = "<changes>\n1 feat(api): add users\n2 fix: crash on empty input\n3 docs: explain limits\n"
    prompt += "</changes>"
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": prompt}]
    request = {"response_format": {"json_schema": {"name": "release_notes"}}, "messages": messages}
    notes = json.loads(openai_server.misattributing(request).text)
    assert notes["title"] == "feat(api): add users"
    items = {s["title"]: [(i["text"], i["refs"]) for i in s["items"]] for s in notes["sections"]}
    assert items == {
        "Features": [("Now crash on empty input", ["1"])],
        "Other changes": [
            ("Now explain limits", ["2"]),
            ("Now explain limits, and add users", ["3"]),  # its own line spliced with line 1
            ("Various improvements", ["1"]),
        ],
    }
    assert notes["summary"] == "This release brings many improvements."
