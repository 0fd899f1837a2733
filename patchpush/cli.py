"""The `patchpush` command: the same pipeline on a local clone. With no API key, the offline writer."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from patchpush import __version__, pipeline, report, settings
from patchpush.errors import PatchPushError
from patchpush.models import RunReport

# Flags that are switches on the command line but inputs everywhere else.
_SWITCHES = ("dry-run",)
# What the flags that matter most on a clone mean; README.md's Inputs table describes every one.
_HELP = {
    "repository": "owner/name, so notes link to the commits and pull requests on GitHub",
    "since": "auto (after the last described commit, else the last tag), a ref, an ISO date, or 7d/12h/2w",
    "until": "a ref: the last commit to describe (default: HEAD)",
    "file": "the notes file, relative to the repository root",
    "mode": "overwrite, or prepend a section on top of a changelog",
    "template": "a Jinja2 template in the repository, instead of the built-in one",
    "include-paths": "globs: only commits touching these paths",
    "exclude-paths": "globs: leave out commits touching only these paths",
    "exclude-authors": "logins or names to leave out; none keeps everyone",
    "noise": "release, fixup, back-merge: commits real changelogs leave out; none keeps them all",
    "base-url": "an OpenAI-compatible endpoint (Ollama, vLLM); the key comes from OPENAI_API_KEY",
}
# Secrets come from the environment, never from argv (visible to every process on the machine).
_FROM_ENV = {"openai-api-key": "OPENAI_API_KEY", "github-token": "GITHUB_TOKEN"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="patchpush",
        description="Write patch notes for what changed in a git repository. "
        "Without OPENAI_API_KEY the offline writer files the changes into sections (README: Sections).",
    )
    parser.add_argument("--version", action="version", version=f"patchpush {__version__}")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the clone to describe (default: .)")
    parser.add_argument(
        "--commit", action="store_true", help="also make a local git commit of the notes file"
    )
    parser.add_argument(
        "--format",
        choices=("markdown", "json"),
        default="markdown",
        help="print the notes as Markdown or as the JSON notes structure",
    )
    parser.add_argument(
        "--context",
        action="store_true",
        help="print the collected changes as JSON and stop (save them to replay with --from-context)",
    )
    parser.add_argument(
        "--from-context",
        type=Path,
        metavar="FILE",
        help="describe the changes saved by --context instead of collecting them",
    )
    for name, default in settings.DEFAULTS.items():
        if name in _FROM_ENV:
            continue
        if name in _SWITCHES:
            parser.add_argument(
                f"--{name}",
                action="store_const",
                const="true",
                default=None,
                help="generate and print the notes, write nothing",
            )
        else:
            parser.add_argument(
                f"--{name}",
                default=None,
                metavar="VALUE",
                help=" ".join(
                    part for part in (_HELP.get(name, ""), f"(default: {default})" if default else "") if part
                )
                or None,
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    repo: Path = args.repo.resolve()
    flags = {
        name: getattr(args, name.replace("-", "_")) for name in settings.DEFAULTS if name not in _FROM_ENV
    }
    flags.update({name: os.environ[var] for name, var in _FROM_ENV.items() if os.environ.get(var)})
    log_path = repo / settings.DEFAULTS["failure-log"]
    secrets = [v for k, v in flags.items() if k in _FROM_ENV and v]
    try:
        config = settings.load(
            workspace=repo,
            env=os.environ,
            cli=flags,
            backend="git",
            local_commit=args.commit,
            from_context=args.from_context,
        )
        log_path = config.failure_log
        if args.context:
            sys.stdout.write(pipeline.collect(config, pipeline.build(config)).to_json())
            return 0
        outcome = pipeline.run(config, pipeline.build(config))
    except PatchPushError as exc:
        outcome = pipeline.failed(flags.get("file") or settings.DEFAULTS["file"], exc)
    except Exception as exc:  # our only broad except on this face: anything else is a bug
        # As on the action face: notes generated before the bug are printed and kept beside the log.
        if isinstance(exc, pipeline.Unexpected):
            kept = exc.report
        else:
            kept = pipeline.failed(flags.get("file") or settings.DEFAULTS["file"], PatchPushError(report.BUG))
        bug = dataclasses.replace(kept, error=report.BUG, error_stage=None, hint=None)
        _finish(bug, log_path=log_path, secrets=secrets, output_format=args.format)
        report.log_traceback(log_path, report.Redactor(secrets))
        return 2
    return _finish(outcome, log_path=log_path, secrets=secrets, output_format=args.format)


def _finish(outcome: RunReport, *, log_path: Path, secrets: list[str], output_format: str) -> int:
    redact = report.Redactor(secrets)
    failure_log = report.write_failure_log(outcome, log_path, redact)
    for warning in outcome.warnings:
        print(f"warning: {redact(warning)}", file=sys.stderr)
    if output_format == "json" and outcome.notes is not None:
        sys.stdout.write(redact(outcome.notes.to_json()))
    elif outcome.outcome in ("dry-run", "failed") and outcome.notes_markdown:
        sys.stdout.write(redact(outcome.notes_markdown))
    if outcome.error:
        hint = f" ({outcome.hint})" if outcome.hint else ""
        print(f"error: {redact(outcome.error)}{redact(hint)}", file=sys.stderr)
        if failure_log:
            print(f"the failure log is {failure_log}", file=sys.stderr)
        return 1
    target = outcome.publish.commit_sha if outcome.publish and outcome.publish.commit_sha else ""
    print(
        # Commits, not items: the notes' summary line counts items, and says how many commits (#11).
        f"patchpush: {outcome.outcome} {outcome.file} ({outcome.changes} commits) {target}".rstrip(),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
