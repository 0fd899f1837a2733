"""Start-up time of the action and the installed size of its locked dependencies.

startup_s: median seconds from starting entrypoint.py (as the runner starts the container's process)
to the first HTTP request reaching the loopback GitHub, with the offline writer.
site_packages_mb: size on disk of requirements.txt installed into an empty target directory (what
the image carries on top of Python). Goal: startup_s <= 0.25.

    python bench/startup.py [--runs 7] [--no-size]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.github_server import GitHubEmulator  # noqa: E402


def first_request_seconds(emu: GitHubEmulator, work: Path) -> float:
    emu.reset_requests()
    workspace = work / "workspace"
    workspace.mkdir(exist_ok=True)
    event = work / "event.json"
    event.write_text(json.dumps({"repository": {"default_branch": "main"}}))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": "octo-org/widgets",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": emu.base_url,
        "INPUT_GITHUB-TOKEN": "test-token",
        "INPUT_DRY-RUN": "true",
    }
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "entrypoint.py")],
        env=env,
        cwd=workspace,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not emu.requests:
        if process.poll() is not None and not emu.requests:
            raise SystemExit("the action exited before making a request")
        time.sleep(0.0005)
    elapsed = time.perf_counter() - start
    process.wait()
    return elapsed


def site_packages_mb() -> float:
    with tempfile.TemporaryDirectory() as target:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--no-compile",
                "--target",
                target,
                "-r",
                str(ROOT / "requirements.txt"),
            ],
            check=True,
        )
        total = sum(f.stat().st_size for f in Path(target).rglob("*") if f.is_file())
    return total / 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--no-size", action="store_true", help="skip the install (it needs the package index)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bare = work / "repo.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
        clone = work / "clone"
        subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True, stderr=subprocess.DEVNULL)
        subprocess.run(
            [
                "git",
                "-C",
                str(clone),
                "-c",
                "user.name=a",
                "-c",
                "user.email=a@b",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "feat: first",
            ],
            check=True,
        )
        subprocess.run(["git", "-C", str(clone), "push", "-q", "origin", "HEAD:main"], check=True)
        with GitHubEmulator(bare) as emu:
            first_request_seconds(emu, work)  # warm the page cache and .pyc files
            times = [first_request_seconds(emu, work) for _ in range(args.runs)]
    print(f"startup_s={statistics.median(times):.3f}")
    if not args.no_size:
        print(f"site_packages_mb={site_packages_mb():.1f}")


if __name__ == "__main__":
    main()
