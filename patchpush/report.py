"""Report: action outputs, the job summary, annotations, masking, and the failure log.

The only module that writes to GITHUB_OUTPUT and GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import contextlib
import os
import secrets as random_tokens
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from patchpush.models import RunReport, WriterReport

UNPUBLISHED_NAME = "patch_notes_unpublished.md"
# GitHub drops a step summary larger than 1 MiB entirely (11,408 changes made 1.10 MB, #9).
MAX_SUMMARY_BYTES = 1_000_000


class Redactor:
    """Replaces every known secret with *** in anything we print or write."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Each line of a multi-line secret too: text is often printed or clipped line by line (#9).
        # Longest first, so a secret that contains another is hidden whole.
        self._secrets = sorted(
            {part for value in secrets for part in _secret_parts(value) if len(part) >= 4},
            key=len,
            reverse=True,
        )

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _secret_parts(value: str) -> list[str]:
    return [value.strip(), *(line.strip() for line in value.splitlines())] if value else []


def redact_published(text: str, secrets: Iterable[str]) -> str:
    """Every text patch-push publishes (notes file, release body, pull-request body) passes here, so
    that a secret in a commit message or a model's answer never reaches the repository."""
    return Redactor(secrets)(text)


def mask(secrets: Iterable[str]) -> None:
    """Ask the runner to mask each secret in the log before anything else is printed."""
    from actions_toolkit import core  # lazily: it imports requests, which the CLI never needs

    for secret in secrets:
        # The runner masks within one line: a multi-line secret is masked line by line (#9).
        for part in dict.fromkeys(_secret_parts(secret)):
            if part:
                core.set_secret(part)


@contextlib.contextmanager
def commands_stopped(out: TextIO | None = None) -> Iterator[TextIO]:
    """Print text derived from commits, pull requests, file names or a model inside this block: the
    runner reads no workflow command (`::error::`, `::add-mask::`, ...) in it. Today's token is random,
    so that the text cannot end the block itself (#9)."""
    stream = out or sys.stdout
    token = random_tokens.token_hex(16)
    stream.write(f"::stop-commands::{token}\n")
    try:
        yield stream
    finally:
        stream.write(f"\n::{token}::\n")
        stream.flush()


def failure_line(message: str, *, stage: str | None, now: datetime | None = None) -> str:
    """One failure in the seed's form: `2025-07-30T09:21:13.103Z - Error: <message>` (+ stage)."""
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    suffix = f" (stage: {stage})" if stage else ""
    return f"{moment} - Error: {' '.join(message.split())}{suffix}"


BUG = "this is a bug in patch-push; the traceback is in the failure log"


def log_traceback(log_path: Path, redact: Redactor, workspace: Path | None = None) -> None:
    """After a bug's failure line: the traceback being handled, secrets redacted."""
    import traceback

    _write(log_path, redact(traceback.format_exc()), workspace=workspace, append=True)


def write_failure_log(
    report: RunReport, log_path: Path, redact: Redactor, workspace: Path | None = None
) -> Path | None:
    """Append the failures of this run; save notes that were generated but not published beside it."""
    lines = []
    if report.error:
        message = report.error + (f" ({report.hint})" if report.hint else "")
        lines.append(failure_line(redact(message), stage=report.error_stage))
    if report.writer and report.writer.fallback_reason:
        lines.append(
            failure_line(
                redact(f"LLM writer failed, used the offline writer: {report.writer.fallback_reason}"),
                stage="notes",
            )
        )
    if not lines:
        return None
    if not _write(log_path, "\n".join(lines) + "\n", workspace=workspace, append=True):
        return None
    if report.outcome == "failed" and report.notes_markdown:
        _write(log_path.parent / UNPUBLISHED_NAME, redact(report.notes_markdown), workspace=workspace)
    return log_path


def _write(path: Path, text: str, *, workspace: Path | None, append: bool = False) -> bool:
    """Write a file the run leaves behind: only inside the workspace, never through a symbolic link,
    and owned by the workspace's owner, so that a later checkout or `git clean` can remove it (the
    container runs as root; the runner's workspace belongs to uid 1001, #9)."""
    try:
        owner = _workspace_owner(workspace)
        _make_parents(path, workspace, owner)
        flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
        descriptor = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            if owner:
                os.fchown(handle.fileno(), *owner)
            handle.write(text)
    except (OSError, ValueError) as exc:
        # The run's outcome stands, and the notes are in the job summary: say why this file is missing.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"patch-push: cannot write {shown_path(path, workspace)}: {reason}", file=sys.stderr)
        return False
    return True


def _workspace_owner(workspace: Path | None) -> tuple[int, int] | None:
    if workspace is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    status = workspace.stat()
    return (status.st_uid, status.st_gid) if status.st_uid != 0 else None


def _make_parents(path: Path, workspace: Path | None, owner: tuple[int, int] | None) -> None:
    if workspace is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    try:
        parts = path.parent.relative_to(workspace).parts
    except ValueError:
        raise ValueError("it is outside the workspace") from None
    folder = workspace
    for part in parts:
        folder = folder / part
        if folder.is_symlink():
            raise ValueError(f"{shown_path(folder, workspace)} is a symbolic link")
        if not folder.exists():
            folder.mkdir()
            if owner:
                os.chown(folder, *owner)


def shown_path(path: Path, workspace: Path | None) -> str:
    """Paths inside the workspace as the workflow sees them: relative, since the container's
    /github/workspace is a different path on the runner (actions/upload-artifact resolves it)."""
    if workspace is not None:
        try:
            return str(path.relative_to(workspace))
        except ValueError:
            pass
    return str(path)


def outputs(report: RunReport, failure_log: Path | None, workspace: Path | None = None) -> dict[str, str]:
    published = report.publish
    writer = report.writer
    return {
        "outcome": report.outcome,
        "file": report.file,
        "commit-sha": (published and published.commit_sha) or "",
        "commit-url": (published and published.commit_url) or "",
        "pull-request-url": (published and published.pull_request_url) or "",
        "release-url": (published and published.release_url) or "",
        "notes": report.notes_markdown,
        "writer": writer.writer if writer else "",
        "fallback-reason": (writer and writer.fallback_reason) or "",
        "range-from": report.range_from or "",
        "range-to": report.range_to or "",
        "changes": str(report.changes),
        "tokens-in": str(writer.tokens_in if writer else 0),
        "tokens-out": str(writer.tokens_out if writer else 0),
        "invented-refs": str(writer.invented_refs if writer else 0),
        "coverage-added": str(writer.added_for_coverage if writer else 0),
        "reattributed": str(writer.reattributed if writer else 0),
        "replaced": str(writer.replaced if writer else 0),
        "resectioned": str(writer.resectioned if writer else 0),
        "failure-log": shown_path(failure_log, workspace) if failure_log else "",
    }


def summary(report: RunReport, failure_log: Path | None, workspace: Path | None = None) -> str:
    """The job summary: what happened, then the notes themselves, so nothing generated is lost."""
    lines = [f"## patch-push: {report.outcome}", ""]
    if report.error:
        lines += [f"> [!CAUTION]\n> {report.error}" + (f"\n> {report.hint}" if report.hint else ""), ""]
    for warning in report.warnings:
        lines += [f"> [!WARNING]\n> {warning}", ""]
    if report.outcome == "skipped":
        lines += [
            f"Nothing new to describe after `{_last(report)[:12]}`: `{report.file}` was left as it is.",
            "",
        ]
    rows = [("file", f"`{report.file}`"), ("changes", str(report.changes))]
    if report.range_to:
        rows.append(("range", f"`{(report.range_from or 'start')[:12]}..{report.range_to[:12]}`"))
    if report.writer:
        w = report.writer
        rows.append(("writer", w.writer))
        if w.writer == "llm":
            rows += [
                ("tokens in / out", f"{w.tokens_in} / {w.tokens_out}"),
                ("LLM calls", str(w.calls)),
                ("invented refs removed", str(w.invented_refs)),
                ("changes added for coverage", str(w.added_for_coverage)),
                ("model text kept", _kept(w)),
            ]
    if report.publish:
        p = report.publish
        for name, value in (
            (
                "commit",
                f"[{p.commit_sha[:7]}]({p.commit_url})" if p.commit_url and p.commit_sha else p.commit_sha,
            ),
            ("pull request", p.pull_request_url),
            ("release", p.release_url),
        ):
            if value:
                rows.append((name, value))
    if failure_log:
        rows.append(("failure log", f"`{shown_path(failure_log, workspace)}`"))
    lines += [*(f"- **{name}**: {value}" for name, value in rows), ""]
    if report.notes_markdown:
        title = "Notes (not published: kept here)" if report.outcome == "failed" else "Notes"
        lines += [f"### {title}", ""]
        head = "\n".join(lines) + "\n"
        lines.append(_clip_notes(report, failure_log, MAX_SUMMARY_BYTES - len(head.encode("utf-8"))))
    return "\n".join(lines).rstrip("\n") + "\n"


def _clip_notes(report: RunReport, failure_log: Path | None, budget: int) -> str:
    """The notes, cut at a line so that the whole summary stays under MAX_SUMMARY_BYTES."""
    data = report.notes_markdown.encode("utf-8")
    if len(data) <= budget:
        return report.notes_markdown
    where = f"`{report.file}`"
    if report.outcome == "failed" and failure_log is not None:
        where = f"`{UNPUBLISHED_NAME}` beside the failure log"
    kept = data[: max(budget - 400, 0)].decode("utf-8", "ignore")
    kept = kept[: kept.rfind("\n") + 1]
    left = len(data) - len(kept.encode("utf-8"))
    return (
        kept + f"\n*The job summary is limited to 1 MiB: {left:,} more bytes of the notes are in {where}.*\n"
    )


def _kept(w: WriterReport) -> str:
    """How much of the model's text the notes kept, and what the checks changed, in one line."""
    items = w.kept + w.added_for_coverage
    return (
        f"{w.kept} of {items} items ({w.reattributed} re-attributed, {w.resectioned} moved to their "
        f"type's section, {w.replaced} replaced and {w.added_for_coverage} added by the offline writer)"
    )


def _last(report: RunReport) -> str:
    """The commit a skipped run found nothing after: the range's start, else its end."""
    return report.range_from or report.range_to or ""


def _log_line(report: RunReport) -> str:
    """What happened, in one line of the step's log."""
    if report.outcome == "skipped":
        return f"patch-push: skipped, nothing new after {_last(report)[:7]} for {report.file}"
    where = ""
    if report.publish and (report.publish.pull_request_url or report.publish.commit_url):
        where = f": {report.publish.pull_request_url or report.publish.commit_url}"
    writer = f", {report.writer.writer} writer" if report.writer else ""
    return f"patch-push: {report.outcome} {report.file} ({report.changes} changes{writer}){where}"


def emit_action(
    report: RunReport,
    *,
    log_path: Path,
    secrets: Iterable[str],
    env: Mapping[str, str],
    workspace: Path | None = None,
) -> int:
    """Everything the runner reads back from a step; returns the exit code."""
    from actions_toolkit import core

    redact = Redactor(secrets)
    failure_log = write_failure_log(report, log_path, redact, workspace)
    # Annotations are workflow commands whose text the toolkit escapes onto one line; everything else
    # printed derives from repository content or a model, and is printed with commands stopped.
    for warning in report.warnings:
        core.warning(redact(warning))
    if report.error:
        core.error(redact(report.error + (f" ({report.hint})" if report.hint else "")))
    else:
        with commands_stopped() as out:
            out.write(redact(_log_line(report)))
    if report.notes_markdown and report.outcome in ("dry-run", "failed"):
        # Notes that were not published are shown in the log too, folded.
        core.start_group("patch-push notes" + (" (not published)" if report.outcome == "failed" else ""))
        with commands_stopped() as out:
            out.write(redact(report.notes_markdown.rstrip("\n")))
        core.end_group()
    if env.get("GITHUB_OUTPUT"):
        for name, value in outputs(report, failure_log, workspace).items():
            # Multi-line values go out as name<<random-delimiter (actions-toolkit's file command).
            core.set_output(name, redact(value))
    if summary_path := env.get("GITHUB_STEP_SUMMARY"):
        with open(summary_path, "a", encoding="utf-8") as handle:
            handle.write(redact(summary(report, failure_log, workspace)))
    sys.stdout.flush()
    return 1 if report.outcome == "failed" else 0
