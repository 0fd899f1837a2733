"""API requests one action run makes, for ranges of 100, 1,000 and 10,000 commits.

Half of the commits come from pull requests (squash merges with labels and bodies). Each run is
entrypoint.py started as the runner starts it, against the loopback GitHub emulator, and prints:
requests_N= (requests the emulator recorded for one run), wall_s_1000= (median of 3 runs), and
requests_100_no_event_branch= (the event payload names no default branch, so the API is asked).
Goal: requests_N <= ceil(N/100) + 4; the default branch costs one request more, asked once.

    python bench/github_requests.py [--sizes 100,1000,10000]
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.action_runner import run_action  # noqa: E402
from tests.fakes.github_server import GitHubEmulator  # noqa: E402


def build(path: Path, commits: int) -> None:
    """A bare repository of `commits` commits, built with git fast-import; every even one a PR."""
    if (path / "bench-done").exists():
        return
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    stream = []
    for n in range(commits):
        subject = f"feat(core): improve widget {n}" if n % 3 else f"fix: widget {n} crash"
        if n % 2 == 0:
            subject += f" (#{n // 2 + 1})"
        data = f"{subject}\n\nDetails of change {n}.\n".encode()
        stamp = 1_700_000_000 + n * 60
        stream.append(
            f"commit refs/heads/main\nmark :{n + 1}\n"
            f"author Dev <dev{n % 7}@example.test> {stamp} +0000\n"
            f"committer Dev <dev{n % 7}@example.test> {stamp} +0000\n"
            f"data {len(data)}\n{data.decode()}\n"
            f"M 644 inline src/w{n % 50}.py\ndata {len(str(n))}\n{n}\n"
        )
    subprocess.run(
        ["git", "--git-dir", str(path), "fast-import", "--quiet"], input="".join(stream).encode(), check=True
    )
    (path / "bench-done").write_text("ok")


def register_pulls(emu: GitHubEmulator, bare: Path) -> None:
    log = subprocess.run(
        ["git", "--git-dir", str(bare), "log", "--format=%H %s", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for line in log:
        sha, subject = line.split(" ", 1)
        if subject.endswith(")") and "(#" in subject:
            number = int(subject.rsplit("(#", 1)[1].rstrip(")"))
            body = "<!-- template -->\n## Description\nMakes the widget better.\n- [ ] tests added\n"
            emu.add_pull_request(
                number=number,
                title=subject.rsplit(" (#", 1)[0],
                body=body,
                labels=["enhancement"],
                merge_commit_sha=sha,
            )


def one_run(cached: Path, work: Path, commits: int, *, default_branch: str = "main") -> tuple[int, float]:
    """One real run (it commits) on a fresh copy of the cached repository."""
    folder = Path(tempfile.mkdtemp(dir=work))
    bare = folder / "repo.git"
    shutil.copytree(cached, bare)
    with GitHubEmulator(bare) as emu:
        register_pulls(emu, bare)
        start = time.perf_counter()
        run = run_action(
            folder,
            {"github-token": "test-token", "max-commits": str(commits)},
            env={"GITHUB_API_URL": emu.base_url},
            default_branch=default_branch,
            timeout=1800,
        )
        wall = time.perf_counter() - start
        requests = len(emu.requests)
    shutil.rmtree(folder)
    if run.outputs.get("outcome") != "committed" or run.outputs.get("changes") != str(commits):
        raise SystemExit(f"run failed: {run.stdout[-2000:]}")
    return requests, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args()
    cache = Path(tempfile.gettempdir()) / "patchpush-bench-github"
    cache.mkdir(exist_ok=True)
    for size in (int(s) for s in args.sizes.split(",")):
        bare = cache / f"repo-{size}.git"
        build(bare, size)
        requests, wall = one_run(bare, cache, size)
        print(f"requests_{size}={requests}  (goal <= {math.ceil(size / 100) + 4})", flush=True)
        if size == 100:
            no_branch, _ = one_run(bare, cache, size, default_branch="")
            print(f"requests_100_no_event_branch={no_branch}  (goal <= {requests + 1})", flush=True)
        if size == 1000:
            walls = [wall] + [one_run(bare, cache, size)[1] for _ in range(2)]
            print(f"wall_s_1000={statistics.median(walls):.2f}", flush=True)


if __name__ == "__main__":
    main()
