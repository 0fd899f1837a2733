"""Offline pipeline speed on a 50,000-commit repository, against a bare `git log` of the same range.

Prints offline_s (median seconds of `patchpush --dry-run` over the whole history), gitlog_s (median
seconds of `git log` over the same range) and offline_over_gitlog. Goal: ratio <= 1.2.
The repository is built once with `git fast-import` and cached under the temp dir.

    python bench/offline.py [--commits 50000] [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TYPES = ("feat", "fix", "docs", "chore", "refactor", "perf", "test", "ci")
SCOPES = ("api", "cli", "ui", "core", "")


def build(path: Path, commits: int) -> None:
    """A history of mixed conventional and free-form messages, some with PR numbers and bodies."""
    if (path / ".done").exists():
        return
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    stream = []
    for n in range(commits):
        kind = TYPES[n % len(TYPES)]
        scope = SCOPES[n % len(SCOPES)]
        head = f"{kind}({scope})" if scope else kind
        subject = f"{head}: change number {n} to the widget pipeline" if n % 5 else f"Tweak widget {n}"
        if n % 3 == 0:
            subject += f" (#{n // 3 + 1})"
        body = f"{subject}\n\nWhy: the widget needed change {n}.\nIt touches module {n % 97}.\n"
        data = body.encode()
        stream.append(
            f"commit refs/heads/main\nmark :{n + 1}\n"
            f"author Dev {n % 13} <dev{n % 13}@example.test> {1_700_000_000 + n * 60} +0000\n"
            f"committer Dev {n % 13} <dev{n % 13}@example.test> {1_700_000_000 + n * 60} +0000\n"
            f"data {len(data)}\n{body}\n"
            f"M 644 inline src/module{n % 97}.py\ndata {len(str(n))}\n{n}\n"
        )
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"], input="".join(stream).encode(), check=True
    )
    subprocess.run(["git", "-C", str(path), "checkout", "-q", "main"], check=True)
    (path / ".done").write_text("ok")


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    repo = Path(tempfile.gettempdir()) / f"patchpush-bench-{args.commits}"
    build(repo, args.commits)
    patchpush = [
        sys.executable,
        "-m",
        "patchpush.cli",
        "--repo",
        str(repo),
        "--dry-run",
        "--max-commits",
        str(args.commits),
        "--exclude-authors",
        "none",
    ]
    gitlog = ["git", "-C", str(repo), "log", "HEAD"]
    offline = median_seconds(patchpush, args.runs)
    gitlog_s = median_seconds(gitlog, args.runs)
    print(f"commits={args.commits}")
    print(f"offline_s={offline:.3f}")
    print(f"gitlog_s={gitlog_s:.3f}")
    print(f"offline_over_gitlog={offline / gitlog_s:.2f}")


if __name__ == "__main__":
    main()
