"""Every change exactly once, on a real clone: what the range holds, what the notes show, what rules left out.

For each range: commits in the range (`git rev-list`), commits the notes cite, items, pull requests cited,
commits left out by rule, and every violation of the invariant (a range commit neither described nor left
out, one in both or twice, a left-out commit cited, an item not citing its pull requests). Goal: 0 violations.

    python bench/coverage.py CLONE [--range A..B ...] [--since A --until B] [--full] [other patchpush flags]

`--range` may repeat; `--full` adds the whole history. Other flags (--exclude-authors none, --noise none,
--include-paths src/) go to patchpush as on the command line.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from patchpush import pipeline, settings
from patchpush.models import ChangeSet, ReleaseNotes
from patchpush.notes import coverage
from patchpush.notes.offline import write_offline


def rev_list(clone: Path, base: str | None, head: str, limit: int) -> list[str]:
    span = f"{base}..{head}" if base else head
    out = subprocess.run(
        ["git", "-C", str(clone), "rev-list", f"--max-count={limit}", span],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def measure(clone: Path, flags: dict[str, str]) -> dict[str, object]:
    config = settings.load(workspace=clone, env={}, cli=flags, backend="git")
    changes: ChangeSet = pipeline.collect(config, pipeline.build(config))
    # As the pipeline does: the writer, then the invariant check that repairs and warns.
    notes: ReleaseNotes
    notes, repaired = coverage.ensure(changes, write_offline(changes))
    found = coverage.check(changes, notes)
    in_range = rev_list(clone, changes.base, changes.head, config.max_commits)
    described = [c.sha for c in changes.changes]
    left = [x.sha for x in changes.left_out]
    accounted = Counter(described + left)
    violations: list[str] = [f"repaired: {w}" for w in repaired]
    violations += [f"not accounted for: {s[:10]}" for s in in_range if s not in accounted]
    violations += [f"described or left out twice: {s[:10]}" for s, n in accounted.items() if n > 1]
    violations += [f"not in the range: {s[:10]}" for s in accounted if s not in set(in_range)]
    violations += [f"missing from the notes: {s[:10]}" for s in found.missing]
    violations += [f"cited twice: {s[:10]}" for s in found.repeated]
    violations += [f"left out yet cited: {s[:10]}" for s in found.leaked]
    violations += [f"cited but unknown: {s[:10]}" for s in found.unknown]
    if found.uncited_prs:
        violations.append(f"items not citing their pull requests: {found.uncited_prs}")
    items = [i for s in notes.sections for i in s.items]
    return {
        "range": f"{(changes.base or '')[:7] or 'root'}..{changes.head[:7]}",
        "commits": len(in_range),
        "shown": sum(len(i.shas) for i in items),
        "items": len(items),
        "prs": len({n for i in items for n in i.prs}),
        "left_out": dict(Counter(x.rule for x in changes.left_out).most_common()),
        "violations": violations,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("clone", type=Path)
    parser.add_argument("--range", action="append", default=[], help="A..B (repeatable)")
    parser.add_argument("--full", action="store_true", help="also the whole history")
    args, rest = parser.parse_known_args()
    extra: dict[str, str] = {}
    it = iter(rest)
    for flag in it:
        if not flag.startswith("--"):
            parser.error(f"unexpected argument {flag}")
        extra[flag[2:]] = next(it)
    extra.setdefault("max-commits", "1000000")
    runs: list[dict[str, str]] = []
    for span in args.range:
        since, _, until = span.partition("..")
        runs.append({"since": since, "until": until, **extra})
    if args.full:
        # `since` an empty tree-ish is not a ref; a date before any commit takes the whole history.
        runs.append({"since": "1970-01-01", **extra})
    if not runs:
        runs.append(extra)
    print(f"# {args.clone.name} {' '.join(rest)}".rstrip())
    print("| range | commits | shown | items | PRs | left out | violations |")
    print("| --- | ---: | ---: | ---: | ---: | --- | ---: |")
    bad = 0
    for flags in runs:
        row = measure(args.clone, flags)
        label = flags.get("since", "auto") + ".." + (flags.get("until") or "HEAD")
        if label.startswith("1970-01-01"):
            label = "full history"
        rules = ", ".join(f"{k} {v}" for k, v in row["left_out"].items())  # type: ignore[attr-defined]
        found = row["violations"]
        assert isinstance(found, list)
        bad += len(found)
        cells = [label, row["commits"], row["shown"], row["items"], row["prs"], rules, len(found)]
        print("| " + " | ".join(str(c) for c in cells) + " |")
        for line in found[:20]:
            print(f"    violation: {line}")
    print(f"violations={bad}")


if __name__ == "__main__":
    main()
