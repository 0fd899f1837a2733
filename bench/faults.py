"""Every way GitHub and the network fail, and hostile inputs, through the action (issue 9, "Proof").

Each case is entrypoint.py started as the runner starts it, against the loopback GitHub emulator with a
fault injected (a PUT dropped, reset, answered after its commit was made, cut in half; GitHub killed; 5xx
after retries; a read timeout; a 404 or 5xx reading the notes file; a planted bug; files that cannot be
read or written). Then 20 writers over differing ranges race for one changelog. bench/hostile.py's cases
(templates, config files, secrets, model answers) are added when that file exists. Prints:

    faults_survived=N/M notes_lost=N secrets_leaked=N repeated_entries=N

with one line per case before it, and `concurrent_failed=` (runs failing "kept changing under us") and
`marker_backwards=` for the race. Goal: survived = M, and 0, 0, 0; concurrent_failed at most 5%.

    python bench/faults.py [--writers 20] [--rounds 2] [--quick] [--only NAME]

--quick leaves out the read-timeout case (it waits out PyGithub's 30 s timeout).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.action_runner import ActionRun  # noqa: E402
from tests.fakes.github_server import Fault, GitHubEmulator  # noqa: E402
from tests.github_env import Remote, serve  # noqa: E402
from tests.planted_bug import planted_pythonpath  # noqa: E402

TOKEN = "fault-bench-token-0d9e3f7a"
PERMISSIONS = {TOKEN: {"contents:write", "pull_requests:write"}}
SUBJECTS = ("add users endpoint", "crash on empty input")


@dataclass
class Case:
    name: str
    # committed: published once, reported with its sha. kept: failed, exit 1, notes kept.
    # bug: exit 2, notes kept. clear: failed before any notes existed, with one clear error line.
    expect: str
    arrange: Callable[[Remote, GitHubEmulator], None] = lambda remote, emu: None
    inputs: dict[str, str] = field(default_factory=dict)
    env: Callable[[Path], dict[str, str]] = lambda tmp: {}
    prepare: Callable[[Remote], None] = lambda remote: None


@dataclass
class Outcome:
    name: str
    survived: bool
    notes_lost: int
    leaked: int
    detail: str


def fault(kind: str, **options: object) -> Callable[[Remote, GitHubEmulator], None]:
    return lambda remote, emu: emu.add_fault(Fault(kind, **options))  # type: ignore[arg-type]


def planted_bug(tmp: Path) -> dict[str, str]:
    return {"PYTHONPATH": planted_pythonpath(tmp)}


def latin1_notes(remote: Remote) -> None:
    (remote.work.path / "ai_patch.md").write_bytes("Notes en fran\u00e7ais\n".encode("latin-1"))
    remote.work.git("add", "ai_patch.md")
    remote.work.commit("docs: latin-1 notes")


def full_changelog(remote: Remote) -> None:
    remote.work.commit("docs: long history", files={"CHANGELOG.md": "# Changelog\n\n" + "- old\n" * 166_600})


def huge_notes(remote: Remote) -> None:
    remote.work.commit("docs: huge notes", files={"ai_patch.md": "x" * 1_200_000})


def described_before(remote: Remote, emu: GitHubEmulator) -> None:
    """An earlier run described the history; then one more change landed (for read glitches)."""
    run = remote.run(emu, {"mode": "prepend", "file": "CHANGELOG.md"}, token=TOKEN)
    assert run.outputs["outcome"] == "committed", run.stdout
    remote.pull()
    remote.work.commit("fix: one more change")
    remote.push()


def glitch(kind: str, times: int, **options: object) -> Callable[[Remote, GitHubEmulator], None]:
    def arrange(remote: Remote, emu: GitHubEmulator) -> None:
        described_before(remote, emu)
        emu.add_fault(Fault(kind, method="GET", path="/contents/CHANGELOG.md", times=times, **options))  # type: ignore[arg-type]

    return arrange


PUT = {"method": "PUT", "path": "/contents/"}
PREPEND = {"mode": "prepend", "file": "CHANGELOG.md"}
CASES = [
    Case("put_dropped_once", "committed", fault("drop", **PUT)),
    Case("put_reset_once", "committed", fault("reset", **PUT)),
    Case("put_answer_lost_after_commit", "committed", fault("lost_answer", **PUT)),
    Case("put_answer_cut_in_half", "committed", fault("truncate", **PUT)),
    Case("put_dropped_past_retries", "kept", fault("drop", times=10, **PUT)),
    Case("put_reset_past_retries", "kept", fault("reset", times=10, **PUT)),
    Case("put_502_past_retries", "kept", fault("server_error", times=10, status=502, **PUT)),
    Case("put_503_past_retries", "kept", fault("server_error", times=10, status=503, **PUT)),
    Case("github_killed_at_put", "kept", fault("die", **PUT)),
    Case("put_read_timeout", "committed", fault("slow", delay=31, **PUT)),
    Case("put_conflict_with_another_writer", "committed", fault("conflict", **PUT)),
    Case("put_rate_limited_with_retry_after", "committed", fault("rate_limit", retry_after=1, **PUT)),
    Case("put_forbidden", "kept", fault("forbidden", **PUT)),
    Case("graphql_dropped_once", "committed", fault("drop", path="/graphql")),
    Case("graphql_answer_cut_in_half", "clear", fault("truncate", path="/graphql")),
    Case("github_killed_at_graphql", "clear", fault("die", path="/graphql")),
    Case("notes_read_404_once", "committed", glitch("not_found", 1), PREPEND),
    Case("notes_read_404_twice", "committed", glitch("not_found", 2), PREPEND),
    Case("notes_read_502_twice", "committed", glitch("server_error", 2, status=502), PREPEND),
    Case("notes_read_dropped", "committed", glitch("drop", 1), PREPEND),
    Case("bug_after_notes_exist", "bug", env=planted_bug),
    Case("notes_file_not_utf8", "clear", prepare=latin1_notes),
    Case("notes_file_over_1mb_overwrite", "committed", prepare=huge_notes),
    Case("notes_file_over_1mb_prepend", "clear", inputs={"mode": "prepend"}, prepare=huge_notes),
    Case("notes_would_pass_1mb", "kept", inputs=PREPEND, prepare=full_changelog),
]


def fixture(tmp: Path) -> Remote:
    remote = Remote(tmp)
    remote.work.commit("chore: initial import")
    remote.work.tag("v1.0.0")
    remote.work.commit("feat(api): add users endpoint")
    remote.work.commit("fix: crash on empty input")
    return remote


def leaks(run: ActionRun, remote: Remote) -> int:
    """Places the token turned up: the log, outputs, summary, any file the run left, the repository."""
    # ::add-mask:: is how the runner learns the secret; it never shows that line in the log.
    log = "\n".join(line for line in run.stdout.splitlines() if not line.startswith("::add-mask::"))
    places = [log, run.stderr, run.summary, *run.outputs.values()]
    places += [p.read_text(errors="replace") for p in run.workspace.rglob("*") if p.is_file()]
    places.append(remote.bare_git("log", "--all", "--format=%B"))
    places += [_at_head(remote, name) for name in _tracked(remote)]
    return sum(TOKEN in text for text in places)


def _at_head(remote: Remote, path: str) -> str:
    shown = subprocess.run(
        ["git", "--git-dir", str(remote.bare), "show", f"main:{path}"], capture_output=True, check=True
    )
    return shown.stdout.decode("utf-8", errors="replace")


def _tracked(remote: Remote) -> list[str]:
    return remote.bare_git("ls-tree", "-r", "--name-only", "main").splitlines()


def judge(case: Case, run: ActionRun, remote: Remote, file: str) -> tuple[bool, int, str]:
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    notes_exist = case.expect != "clear"
    published = file in _tracked(remote) and all(s in _at_head(remote, file) for s in SUBJECTS)
    kept_file = run.workspace / "logs/patch_notes_unpublished.md"
    kept = (
        kept_file.exists()
        and "crash on empty input" in kept_file.read_text()
        and "crash on empty input" in run.summary
    )
    lost = int(notes_exist and run.outputs.get("outcome") != "skipped" and not (published or kept))
    notes_commits = [
        s for s in remote.bare_git("log", "--format=%s", "main").splitlines() if s.startswith("docs: update")
    ]
    outcome = run.outputs.get("outcome")
    if case.expect == "committed":
        ok = (
            run.code == 0
            and outcome == "committed"
            and run.outputs.get("commit-sha") == remote.bare_git("rev-parse", "main")
            and notes_commits[:1] == [f"docs: update {file}"]
            and published
        )
    elif case.expect in ("kept", "clear"):
        ok = run.code == 1 and outcome == "failed" and len(errors) == 1 and (kept or case.expect == "clear")
    else:
        ok = run.code == 2 and outcome == "failed" and kept and "planted bug" in _log(run)
    ok = ok and "Traceback" not in run.stdout + run.stderr
    detail = f"exit={run.code} outcome={outcome}" + (f" error={errors[0][:140]!r}" if errors else "")
    return ok, lost, detail


def _log(run: ActionRun) -> str:
    path = run.workspace / "logs/patch_failures.log"
    return path.read_text() if path.exists() else ""


def run_case(case: Case, tmp: Path) -> Outcome:
    remote = fixture(tmp)
    case.prepare(remote)
    file = case.inputs.get("file", "ai_patch.md")
    with serve(remote, tokens=PERMISSIONS) as emu:
        case.arrange(remote, emu)
        before = remote.bare_git("log", "--format=%s", "main").splitlines().count(f"docs: update {file}")
        run = remote.run(emu, case.inputs, token=TOKEN, env=case.env(tmp))
    ok, lost, detail = judge(case, run, remote, file)
    if case.expect == "committed":
        after = remote.bare_git("log", "--format=%s", "main").splitlines().count(f"docs: update {file}")
        ok = ok and after == before + 1  # one commit: a lost answer did not make a second one
    return Outcome(case.name, ok, lost, leaks(run, remote), detail)


def race(tmp: Path, writers: int) -> tuple[Outcome, int, int, int]:
    """`writers` runs at once, run i describing up to commit i: (outcome, repeated, failed, backwards)."""
    remote = fixture(tmp)
    subjects = [f"change number {n}" for n in range(writers)]
    heads = [remote.work.commit(f"fix: {s}") for s in subjects]
    results: list[ActionRun] = []
    with serve(remote, tokens=PERMISSIONS) as emu:

        def one(head: str) -> None:
            results.append(remote.run(emu, {**PREPEND, "until": head}, token=TOKEN))

        threads = [threading.Thread(target=one, args=(h,)) for h in heads]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        conflicts = sum(1 for r in emu.requests if r.method == "PUT" and r.status in (409, 422))
    text = remote.file_at_head("CHANGELOG.md")
    every = [*SUBJECTS, *subjects]
    counts = {s: len(re.findall(rf"\b{re.escape(s)}\b", text)) for s in every}
    repeated = sum(max(0, n - 1) for n in counts.values())
    missing = sum(1 for n in counts.values() if n == 0)
    failed = sum(1 for r in results if r.outputs.get("outcome") == "failed")
    order = {sha: n for n, sha in enumerate(heads)}
    backwards, last = 0, -1
    for version in remote.bare_git("log", "--reverse", "--format=%H", "main", "--", "CHANGELOG.md").split():
        found = re.search(r"head=([0-9a-f]{40})", remote.bare_git("show", f"{version}:CHANGELOG.md"))
        rank = order.get(found.group(1), -1) if found else -1
        backwards += rank <= last
        last = max(last, rank)
    lost = sum(
        1 for r in results if r.outputs.get("outcome") == "failed" and "change number" not in r.summary
    )
    ok = repeated == 0 and missing == 0 and backwards == 0 and failed <= writers * 0.05
    outcomes = sorted(r.outputs.get("outcome", "?") for r in results)
    detail = (
        f"committed={outcomes.count('committed')} skipped={outcomes.count('skipped')} failed={failed} "
        f"lost_races={conflicts} missing={missing}"
    )
    leaked = sum(leaks(r, remote) for r in results)
    return Outcome(f"race_{writers}_writers", ok, lost, leaked, detail), repeated, failed, backwards


def hostile() -> tuple[int, int, int, int] | None:
    """bench/hostile.py's figures, when it exists: (survived, total, secrets_leaked, notes_lost)."""
    path = ROOT / "bench/hostile.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("bench_hostile", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in it look their module up there
    spec.loader.exec_module(module)
    argv, sys.argv = sys.argv, [str(path)]  # its own defaults, not our flags
    try:
        result = module.main()
    finally:
        sys.argv = argv
    if not isinstance(result, tuple) or len(result) not in (3, 4):
        raise SystemExit(f"bench/hostile.py: main() gave {result!r}, not (survived/total, leaked, lost)")
    first, *rest = result
    if isinstance(first, str):
        survived, total = (int(x) for x in first.split("/"))
    elif isinstance(first, tuple):
        survived, total = first
    else:  # (survived, total, leaked, lost)
        survived, total, *rest = result
    leaked, lost = rest[0], rest[1]
    return int(survived), int(total), int(leaked), int(lost)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="races of --writers runs")
    parser.add_argument("--quick", action="store_true", help="leave out the 30 s read-timeout case")
    parser.add_argument("--only", help="run the cases whose name contains this (or 'race')")
    args = parser.parse_args()
    cases = [c for c in CASES if not (args.quick and c.name == "put_read_timeout")]
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    outcomes: list[Outcome] = []
    repeated = failed_races = backwards = runs_raced = 0
    with tempfile.TemporaryDirectory(prefix="patchpush-faults-") as scratch:
        for n, case in enumerate(cases):
            started = time.perf_counter()
            outcome = run_case(case, Path(scratch) / f"case{n}")
            outcomes.append(outcome)
            print(
                f"{'ok  ' if outcome.survived else 'FAIL'} {case.name}: {outcome.detail} "
                f"({time.perf_counter() - started:.1f} s)",
                flush=True,
            )
        if not args.only or "race" in args.only:
            for n in range(args.rounds):
                started = time.perf_counter()
                outcome, rep, failed, back = race(Path(scratch) / f"race{n}", args.writers)
                outcomes.append(outcome)
                repeated, failed_races, backwards = repeated + rep, failed_races + failed, backwards + back
                runs_raced += args.writers
                print(
                    f"{'ok  ' if outcome.survived else 'FAIL'} {outcome.name} (round {n + 1}): "
                    f"{outcome.detail} repeated={rep} backwards={back} "
                    f"({time.perf_counter() - started:.1f} s)",
                    flush=True,
                )
    survived = sum(o.survived for o in outcomes)
    total = len(outcomes)
    lost = sum(o.notes_lost for o in outcomes)
    leaked = sum(o.leaked for o in outcomes)
    if not args.only and (figures := hostile()) is not None:
        h_survived, h_total, h_leaked, h_lost = figures
        print(f"hostile: survived={h_survived}/{h_total} secrets_leaked={h_leaked} notes_lost={h_lost}")
        survived, total, leaked, lost = (
            survived + h_survived,
            total + h_total,
            leaked + h_leaked,
            lost + h_lost,
        )
    if runs_raced:
        print(f"concurrent_failed={failed_races}/{runs_raced} marker_backwards={backwards}")
    print(
        f"faults_survived={survived}/{total} notes_lost={lost} "
        f"secrets_leaked={leaked} repeated_entries={repeated}"
    )
    return 0 if survived == total and not (lost or leaked or repeated) else 1


if __name__ == "__main__":
    sys.exit(main())
