"""How faithful the LLM writer's notes are with a real model, on saved real ranges.

Runs the LLM writer against `--base-url` (an OpenAI-compatible server: `/work/shared/tools/local_llm.sh`
serves small Qwen2.5-Coder models through llama.cpp) on every saved context in `bench/data/*.json`
(`patchpush --context` files of real releases; commit messages and PR titles/bodies only), and prints
per range:

* items: published items; kept: items with the model's text; reattributed, replaced, resectioned,
  duplicates removed: what the writer's checks corrected; fallback: why the offline writer was used;
  tokens in/out and seconds.
* faithful=N/M: published items whose text best matches (character 3-gram cosine over the range's
  change lines, a method independent of the writer's word-stem check) a change they cite.
* in_section=N/M: typed changes sitting in the section of their type (the offline writer's).
* once=yes: every change of the range in exactly one item, like the offline writer's notes.
* title, summary: the model's, or the offline writer's where the model's did not pass `headline.py`.

Requests go through a local recording proxy (the loopback fake server, answering from the real model),
so `--cache DIR` keeps the model's answers: a second run with changed checks replays them without the
model, and a changed prompt asks it again. The real models' answers behind the figures in the notes
are kept in `bench/answers/0.5b` and `bench/answers/1.5b`: with `--cache bench/answers/0.5b` and a
`--base-url` nothing listens on, a run replays them in seconds (a request they do not hold fails, and
the writer falls back as it would on a dead provider).

    python bench/llm_quality.py --base-url http://127.0.0.1:8091/v1 --label 0.5b [--show git-cliff-v2.13.0]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo's tests package

from patchpush.models import ChangeSet, ReleaseNotes
from patchpush.notes import budget
from patchpush.notes.attribution import section_for
from patchpush.notes.llm import LlmConfig, LlmWriter
from patchpush.notes.offline import OTHER, section_of, write_offline
from patchpush.notes.render import render_text
from tests.fakes.openai_server import OpenAIServer, Reply

DATA = Path(__file__).resolve().parent / "data"


def forwarder(base_url: str, cache: Path | None, timeout: float) -> Any:
    """A responder that asks the real model (or the cache) and answers as it did."""

    def respond(request: dict[str, Any]) -> Reply:
        key = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:24]
        path = cache / f"{key}.json" if cache else None
        if path is not None and path.exists():
            saved = json.loads(path.read_text())
        else:
            data = json.dumps(request).encode()
            http = urllib.request.Request(
                base_url.rstrip("/") + "/chat/completions",
                data=data,
                headers={"Content-Type": "application/json", "Authorization": "Bearer unused"},
            )
            try:
                with urllib.request.urlopen(http, timeout=timeout) as answer:
                    body = json.loads(answer.read())
            except urllib.error.HTTPError as exc:
                return Reply.error(exc.code, json.loads(exc.read() or b"{}"))
            except urllib.error.URLError:  # no model behind a replay: what a dead provider answers
                return Reply.server_error(503)
            choice = body["choices"][0]
            usage = body.get("usage") or {}
            saved = {
                "content": choice["message"].get("content") or "",
                "finish_reason": choice.get("finish_reason") or "stop",
                "usage": [usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)],
            }
            if path is not None:
                path.write_text(json.dumps(saved))
        return Reply.content(
            saved["content"], finish_reason=saved["finish_reason"], usage=tuple(saved["usage"])
        )

    return respond


def _grams(text: str) -> Counter[str]:
    text = " ".join(text.lower().split())
    return Counter(text[i : i + 3] for i in range(len(text) - 2))


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(n * b[g] for g, n in a.items() if g in b)
    norm = math.sqrt(sum(n * n for n in a.values())) * math.sqrt(sum(n * n for n in b.values()))
    return dot / norm if norm else 0.0


def check(notes: ReleaseNotes, changes: ChangeSet) -> tuple[int, int, int, int, bool]:
    """faithful, items, in_section, typed, once."""
    entries = budget.entries(changes.changes)
    grams = [_grams(e.text) for e in entries]
    line_of = {c.sha: n for n, e in enumerate(entries) for c in e.changes}
    by_sha = changes.by_sha()
    faithful = items = in_section = typed = 0
    seen: Counter[str] = Counter()
    for section in notes.sections:
        for item in section.items:
            items += 1
            seen.update(item.shas)
            text = _grams(item.text)
            scores = [_cosine(text, g) for g in grams]
            best = max(scores)
            cited = {line_of[s] for s in item.shas}
            faithful += any(scores[n] >= best - 1e-9 for n in cited)
            cited_changes = [by_sha[s] for s in item.shas]
            for change in cited_changes:
                if section_of(change) != OTHER:
                    typed += 1
                    in_section += section.title == section_for(section.title, cited_changes)
    once = set(seen) == set(by_sha) and all(n == 1 for n in seen.values())
    return faithful, items, in_section, typed, once


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", default="qwen2.5-coder")
    parser.add_argument("--label", default="model")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--max-input-tokens", type=int, default=5000)
    parser.add_argument("--max-concurrency", type=int, default=4)
    parser.add_argument("--cache", type=Path, default=None, help="keep and replay the model's answers here")
    parser.add_argument("--only", action="append", default=[], help="range names to run (default: all)")
    parser.add_argument("--show", action="append", default=[], help="print these ranges' notes")
    args = parser.parse_args()
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)

    ranges = sorted(DATA.glob("*.json"))
    if args.only:
        ranges = [p for p in ranges if p.stem in args.only]
    with OpenAIServer(api_key=None, responder=forwarder(args.base_url, args.cache, args.timeout)) as proxy:
        for path in ranges:
            changes = ChangeSet.from_json(path.read_text())
            config = LlmConfig(
                provider="openai",
                model=args.model,
                api_key="unused",
                base_url=proxy.base_url,
                max_input_tokens=args.max_input_tokens,
                timeout=args.timeout,
                max_retries=0,
                max_concurrency=args.max_concurrency,
            )
            started = time.monotonic()
            notes = LlmWriter(config=config).write(changes)
            seconds = time.monotonic() - started
            r = notes.report
            faithful, items, in_section, typed, once = check(notes, changes)
            offline = write_offline(changes)
            offline_items = sum(len(s.items) for s in offline.sections)
            offline_faithful = check(offline, changes)[0]
            print(
                f"{args.label} {path.stem}: changes={len(changes.changes)} items={items} "
                f"(offline {offline_items}) kept={r.kept} reattributed={r.reattributed} "
                f"replaced={r.replaced} "
                f"resectioned={r.resectioned} duplicates_removed={r.duplicates_removed} "
                f"invented={r.invented_refs} added_for_coverage={r.added_for_coverage} "
                f"fallback={r.fallback_reason or '-'} tokens={r.tokens_in}/{r.tokens_out} calls={r.calls} "
                f"seconds={seconds:.0f} faithful={faithful}/{items} "
                f"(offline {offline_faithful}/{offline_items}) "
                f"in_section={in_section}/{typed} "
                f"once={'yes' if once else 'no'} "
                f"title={'offline' if notes.title == offline.title else 'model'} "
                f"summary={'offline' if notes.summary == offline.summary else 'model'}",
                flush=True,
            )
            for warning in r.warnings:
                print(f"  warning: {warning}")
            if path.stem in args.show:
                print(render_text(notes, changes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
