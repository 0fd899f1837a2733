"""Report: action outputs, the job summary, annotations, masking, and the failure log.

The only module that writes to GITHUB_OUTPUT and GITHUB_STEP_SUMMARY.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from patchpush.models import RunReport, WriterReport

UNPUBLISHED_NAME = "patch_notes_unpublished.md"


class Redactor:
    """Replaces every known secret with *** in anything we print or write."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is hidden whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def mask(secrets: Iterable[str]) -> None:
    """Ask the runner to mask each secret in the log before anything else is printed."""
    from actions_toolkit import core  # lazily: it imports requests, which the CLI never needs

    for secret in secrets:
        if secret:
            core.set_secret(secret)


def failure_line(message: str, *, stage: str | None, now: datetime | None = None) -> str:
    """One failure in the seed's form: `2025-07-30T09:21:13.103Z - Error: <message>` (+ stage)."""
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    suffix = f" (stage: {stage})" if stage else ""
    return f"{moment} - Error: {' '.join(message.split())}{suffix}"


BUG = "this is a bug in patch-push; the traceback is in the failure log"


def log_traceback(log_path: Path, redact: Redactor) -> None:
    """After a bug's failure line: the traceback being handled, secrets redacted."""
    import traceback

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write(redact(traceback.format_exc()))


def write_failure_log(report: RunReport, log_path: Path, redact: Redactor) -> Path | None:
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
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        log.write("\n".join(lines) + "\n")
    if report.outcome == "failed" and report.notes_markdown:
        (log_path.parent / UNPUBLISHED_NAME).write_text(redact(report.notes_markdown), encoding="utf-8")
    return log_path


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
        lines += [f"### {title}", "", report.notes_markdown]
    return "\n".join(lines).rstrip("\n") + "\n"


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
    failure_log = write_failure_log(report, log_path, redact)
    for warning in report.warnings:
        core.warning(redact(warning))
    if report.error:
        core.error(redact(report.error + (f" ({report.hint})" if report.hint else "")))
    else:
        core.info(_log_line(report))
    if report.notes_markdown and report.outcome in ("dry-run", "failed"):
        # Notes that were not published are shown in the log too, folded.
        core.start_group("patch-push notes" + (" (not published)" if report.outcome == "failed" else ""))
        core.info(redact(report.notes_markdown.rstrip("\n")))
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
