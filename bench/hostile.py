"""Hostile inputs through the action, and the size limits on a real repository (issue #9).

Runs every case of tests/hostile_cases.py (the cases tests/test_security_action.py asserts) through
entrypoint.py against the loopback GitHub and OpenAI servers, and prints

    hostile_survived=N/M secrets_leaked=N notes_lost=N

Goal: N = M, 0, 0. With --clone, it also describes that many commits of a real clone and prints the size
of the notes and of the job summary: GitHub drops a summary over 1 MiB whole (11,408 changes gave 1.10 MB
before the limits).

    python bench/hostile.py [--clone /work/clones/angular+angular-cli --commits 11408] [-k NAME]

`main()` returns the figures, for bench/faults.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.hostile_cases import CASES  # noqa: E402
from tests.hostile_checks import Verdict  # noqa: E402


class Figures(NamedTuple):
    survived: int
    total: int
    secrets_leaked: int
    notes_lost: int


def run_cases(names: list[str]) -> Figures:
    survived = leaked = lost = 0
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"hostile-{name}-") as folder:
            started = time.monotonic()
            try:
                verdict = CASES[name](Path(folder))
            except Exception as exc:  # a case that cannot even run counts as not survived
                verdict = Verdict(problems=[f"the case crashed: {type(exc).__name__}: {exc}"])
            seconds = time.monotonic() - started
        survived += verdict.survived
        leaked += bool(verdict.leaks)
        lost += verdict.lost
        status = "ok" if verdict.survived else f"FAILED: {verdict}"
        print(f"  {name}: {status} ({seconds:.1f} s)", file=sys.stderr)
    return Figures(survived, len(names), leaked, lost)


def sizes(clone: Path, commits: int) -> None:
    """Notes and job-summary bytes for the newest `commits` commits of a real clone, offline writer."""
    from patchpush import pipeline, report, settings
    from patchpush.notes.render import render_text

    config = settings.load(
        workspace=clone, env={}, cli={"max-commits": str(commits), "since": "1970-01-01", "dry-run": "true"}
    )
    stages = pipeline.build(config)
    started = time.monotonic()
    changes = pipeline.collect(config, stages)
    notes = stages.writer.write(changes)
    markdown = render_text(notes, changes)
    rendered = time.monotonic() - started
    run = report.RunReport(
        outcome="dry-run", file=config.file, notes_markdown=markdown, changes=len(changes.changes)
    )
    summary = report.summary(run, None)
    items = sum(len(s.items) for s in notes.sections)
    print(
        f"changes={len(changes.changes)} items={items} notes_bytes={len(markdown.encode()):,} "
        f"summary_bytes={len(summary.encode()):,} left_out_line={'left out' in markdown} "
        f"collect_write_render_s={rendered:.2f}"
    )


def main(argv: list[str] | None = None) -> Figures:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", dest="only", help="run only the cases whose name contains this")
    parser.add_argument("--clone", type=Path, help="also measure the size limits on this clone")
    parser.add_argument("--commits", type=int, default=11_408)
    args = parser.parse_args(argv or [])  # called from bench/faults.py: not that script's arguments
    names = [name for name in CASES if not args.only or args.only in name]
    figures = run_cases(names)
    print(
        f"hostile_survived={figures.survived}/{figures.total} "
        f"secrets_leaked={figures.secrets_leaked} notes_lost={figures.notes_lost}"
    )
    if args.clone:
        sizes(args.clone, args.commits)
    return figures


if __name__ == "__main__":
    result = main(sys.argv[1:])
    sys.exit(0 if result.survived == result.total and not result.secrets_leaked else 1)
