"""Input tokens the LLM writer sends, per commit, for ranges of 100, 1,000 and 10,000 commits.

The ranges are generated in-process (no git): Conventional and free-form subjects; half of the commits
are squash-merged pull requests whose bodies follow a typical PR template (HTML comments, headings,
checklists, a screenshot, links); a third of the others carry a body with a trailer. The writer talks
over real HTTP to the loopback OpenAI-compatible server (tests/fakes/openai_server.py), whose "model"
answers with one grounded item per change line, so every call the writer would make is made.

For each range size N and budget B (max-input-tokens 8000 and 100000) it prints:

* tokens_per_commit_N_B: input tokens sent (the server's o200k_base count of every request,
  reduce call included) divided by N.
* overhead_N_B: share of the input tokens that is prompt and formatting, not change content.
  Content is, for every change line of every answered request, the tokens of its fields counted
  one by one: the line minus its leading id, split at " | " (commit subject, PR title, clipped
  details). overhead = (total input tokens - content tokens) / total input tokens. So the system
  prompt, the fences, ids, separators, newlines, per-message padding and the whole reduce call are
  overhead.
* calls_N_B: chat requests sent; max_request_tokens_N_B: the largest request, in tokens.

Wall time (#10): the same writer against a model that takes LATENCY seconds per answer, on 1,000
commits with an 8,000-token budget, one request at a time and at the default 4 at once:
wall_seconds_1000_8000_c1 / _c4 and their ratio, speedup_1000_8000. The range takes 4 map calls and
one reduce call, so the best possible is (4 + 1) / (1 + 1) = 2.5 (the reduce call waits for the
maps). Goal: speedup >= 2.

Goals: tokens_per_commit <= 60, overhead <= 0.15, max_request_tokens <= B.

    python bench/llm_tokens.py
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo's tests package

from patchpush.collect.conventional import parse
from patchpush.models import ChangeSet
from patchpush.notes import budget
from patchpush.notes.llm import LlmConfig, LlmWriter
from tests.fakes.openai_server import OpenAIServer

SIZES = (100, 1_000, 10_000)
BUDGETS = (8_000, 100_000)
TYPES = ("feat", "fix", "fix", "docs", "chore", "refactor", "perf", "test", "ci")
SCOPES = ("api", "cli", "ui", "core", "auth", "export", None, None)
VERBS = ("add", "support", "handle", "fix", "remove", "speed up", "document", "rework", "validate")
THINGS = (
    "pagination for the users endpoint",
    "empty config files",
    "the CSV exporter",
    "retry logic in the HTTP client",
    "dark mode toggle",
    "login redirect loop",
    "rate limit headers",
    "the install guide",
    "timezone parsing in reports",
    "the plugin loader",
    "memory use during sync",
)
SENTENCES = (
    "This keeps large exports from timing out.",
    "Previously the request failed with a 500.",
    "The old behaviour is kept behind a flag for one release.",
    "Users reported this in the forum.",
    "It also adds a regression test.",
    "The change is covered by the existing integration tests.",
    "No migration is needed.",
    "Benchmarks show a 30% speed-up on large repositories.",
)
PR_TEMPLATE = """<!--
Thank you for your contribution! Please read CONTRIBUTING.md before opening a PR.
Describe the change, link the issue, and tick the boxes that apply.
-->

## Description

{description}

## Type of change

- [{bug}] Bug fix (non-breaking change which fixes an issue)
- [{feature}] New feature (non-breaking change which adds functionality)
- [ ] Breaking change (fix or feature that would cause existing functionality to not work as expected)

## Screenshots

![screenshot](https://user-images.githubusercontent.com/4242/{n}-before-after.png)

## Checklist

- [ ] tests added
- [x] docs updated
- [ ] I have read the [contributing guide](https://github.com/octo/widgets/blob/main/CONTRIBUTING.md)

Closes #{issue}
"""
_LINE = re.compile(r"^(\d+) (.*)$", re.MULTILINE)
LATENCY = 2.0  # seconds a hosted model takes for one answer of a few thousand tokens, at least


def changeset(count: int, *, seed: int = 7) -> ChangeSet:
    rnd = random.Random(seed)
    changes = []
    for n in range(count):
        kind, scope = rnd.choice(TYPES), rnd.choice(SCOPES)
        text = f"{rnd.choice(VERBS)} {rnd.choice(THINGS)}"
        subject = f"{kind}({scope}): {text}" if scope else f"{kind}: {text}"
        if n % 7 == 3:
            subject = text.capitalize()  # not every commit is conventional
        sha = f"{rnd.getrandbits(160):040x}"
        if n % 2 == 0:
            pr = 1000 + n
            description = " ".join(rnd.sample(SENTENCES, rnd.randint(2, 4)))
            body = PR_TEMPLATE.format(
                description=description,
                n=n,
                issue=pr - 500,
                bug="x" if kind == "fix" else " ",
                feature="x" if kind == "feat" else " ",
            )
            change = parse(sha=sha, message=f"{subject} (#{pr})")
            changes.append(
                change.__class__(**{**change.__dict__, "pr_number": pr, "pr_title": subject, "pr_body": body})
            )
        else:
            message = subject
            if n % 3 == 1:
                message += (
                    "\n\n" + " ".join(rnd.sample(SENTENCES, 2)) + "\n\nSigned-off-by: Dev <dev@example.test>"
                )
            changes.append(parse(sha=sha, message=message))
    return ChangeSet(repository="octo/widgets", head=changes[0].sha, changes=tuple(changes))


def grounded(request: dict[str, Any]) -> str:
    if request["response_format"]["json_schema"]["name"] == "notes_summary":
        return json.dumps({"title": "Widgets release", "summary": "Many small improvements."})
    user = request["messages"][1]["content"]
    items = [{"text": rest.split(" | ")[0], "refs": [key]} for key, rest in _LINE.findall(user)]
    return json.dumps(
        {
            "title": "Widgets release",
            "summary": "Many small improvements.",
            "sections": [{"title": "Other changes", "items": items}],
        }
    )


def slow(request: dict[str, Any]) -> str:
    time.sleep(LATENCY)
    return grounded(request)


def content_tokens(request_json: dict[str, Any]) -> int:
    if request_json["response_format"]["json_schema"]["name"] != "release_notes":
        return 0
    user = request_json["messages"][1]["content"]
    return sum(budget.count(part) for _, rest in _LINE.findall(user) for part in rest.split(" | "))


def main() -> int:
    met = True
    with OpenAIServer(api_key=None, responder=grounded) as srv:
        for count in SIZES:
            changes = changeset(count)
            for limit in BUDGETS:
                srv.reset()
                config = LlmConfig(
                    provider="openai",
                    model="gpt-4o-mini",
                    api_key="bench",
                    base_url=srv.base_url,
                    max_input_tokens=limit,
                    max_retries=0,
                )
                notes = LlmWriter(config=config).write(changes)
                requests = [r for r in srv.requests if r.reply_status == 200]
                if notes.report.writer != "llm" or notes.report.added_for_coverage:
                    print(
                        f"# {count}/{limit}: writer={notes.report.writer} "
                        f"reason={notes.report.fallback_reason} added={notes.report.added_for_coverage}"
                    )
                    met = False
                total = sum(r.prompt_tokens for r in srv.requests)
                content = sum(content_tokens(r.json) for r in requests)
                per_commit = total / count
                overhead = (total - content) / total
                largest = max(r.prompt_tokens for r in srv.requests)
                print(f"tokens_per_commit_{count}_{limit}={per_commit:.1f}")
                print(f"overhead_{count}_{limit}={overhead:.3f}")
                print(f"calls_{count}_{limit}={len(srv.requests)}")
                print(f"max_request_tokens_{count}_{limit}={largest}")
                met = met and per_commit <= 60 and overhead <= 0.15 and largest <= limit
    wall = {}
    with OpenAIServer(api_key=None, responder=slow) as srv:
        changes = changeset(1_000)
        for most in (1, 4):
            config = LlmConfig(
                provider="openai",
                model="gpt-4o-mini",
                api_key="bench",
                base_url=srv.base_url,
                max_input_tokens=8_000,
                max_retries=0,
                max_concurrency=most,
            )
            started = time.monotonic()
            LlmWriter(config=config).write(changes)
            wall[most] = time.monotonic() - started
            print(f"wall_seconds_1000_8000_c{most}={wall[most]:.1f}")
    speedup = wall[1] / wall[4]
    print(f"speedup_1000_8000={speedup:.1f}")
    met = met and speedup >= 2
    print(f"goals_met={'yes' if met else 'no'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
