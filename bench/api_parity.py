"""Do the git collector and the GitHub collector give the same ChangeSet on a real repository's history?

The clone is served by the loopback GitHub emulator (its .git directory, read only); the GitHub collector
reads it through GraphQL with the real PyGithub client, the git collector with `git log`. No pull request
metadata is known to the emulator, so both see the PRs the commit messages name. Prints, per range:
commits in range, described items, left out, GraphQL requests, and `same=yes` or the first difference.

    python bench/api_parity.py /work/clones/pallets+click [--range 8.0.0..8.1.0 --range ..HEAD]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from patchpush.collect import RangeRequest  # noqa: E402
from patchpush.collect.git import GitSource  # noqa: E402
from patchpush.models import Since  # noqa: E402
from patchpush.settings import DEFAULT_BOTS  # noqa: E402
from tests.collect.api_harness import api_changes, emulated, shape  # noqa: E402


def compare(clone: Path, span: str) -> str:
    since, _, until = span.partition("..")
    request = RangeRequest(
        since=Since("ref", ref=since) if since else Since("date", date=None),
        until=until if until and until != "HEAD" else "",
        branch="",
        last_described=None,
        max_commits=100_000,
        exclude_authors=DEFAULT_BOTS,
    )
    started = time.perf_counter()
    git = GitSource(repo=clone).changes(request)
    git_s = time.perf_counter() - started
    with emulated(clone / ".git", owner=None, name=None) as emu:
        started = time.perf_counter()
        api = api_changes(emu, request, branch="")
        api_s = time.perf_counter() - started
        graphql = sum(1 for r in emu.requests if r.path.endswith("/graphql"))
    left, right = shape(git), shape(api)
    difference = next((key for key in left if left[key] != right[key]), None)
    in_range = len(api.changes) + len(api.left_out) if api.left_out else api.excluded + len(api.changes)
    verdict = "same=yes" if difference is None else f"same=no first_difference={difference}"
    return (
        f"{clone.name} {span or 'full'}: in_range={in_range} items={len(api.changes)} "
        f"left_out={api.excluded} graphql_requests={graphql} git_s={git_s:.2f} api_s={api_s:.2f} {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("clone", type=Path)
    parser.add_argument("--range", action="append", dest="ranges", help="A..B, A.. or ..B (default: full)")
    args = parser.parse_args()
    for span in args.ranges or [""]:
        print(compare(args.clone, span), flush=True)


if __name__ == "__main__":
    main()
