"""Wire the stages: settings -> collect -> notes -> publish, and return what happened as a `RunReport`."""

from __future__ import annotations

import gc
from dataclasses import dataclass, replace
from typing import Any

from patchpush.collect import ChangeSource, RangeRequest
from patchpush.collect.conventional import OWN_TRAILER
from patchpush.errors import NotesError, PatchPushError
from patchpush.models import ChangeSet, ReleaseNotes, RunReport
from patchpush.notes import NotesWriter
from patchpush.publish import Publisher
from patchpush.publish.document import last_described, merge, wrap
from patchpush.settings import Settings


@dataclass(frozen=True)
class Stages:
    source: ChangeSource
    writer: NotesWriter
    publisher: Publisher


def _github_stages(settings: Settings) -> tuple[ChangeSource, Publisher]:
    from patchpush.collect.github_api import GitHubApiSource
    from patchpush.github_client import connect
    from patchpush.publish.contents_api import ContentsApiPublisher

    client = connect(
        token=settings.github_token.reveal(),
        api_url=settings.api_url,
        repository=settings.repository,
        branch=settings.branch,
        server_url=settings.server_url,
    )
    publisher = ContentsApiPublisher(
        client=client,
        file=settings.file,
        on_protected_branch=settings.on_protected_branch,
        release=settings.release,
    )
    return GitHubApiSource(client=client), publisher


def read_file(settings: Settings, path: str) -> str | None:
    """A file of the repository through the API, for the action's config file (it has no checkout)."""
    return _github_stages(settings)[1].read(path)


def build(settings: Settings) -> Stages:
    """The one place that chooses implementations."""
    if settings.backend == "github":
        source, publisher = _github_stages(settings)
    else:
        from patchpush.collect.git import GitSource
        from patchpush.publish.local_file import LocalFilePublisher

        web_url = f"{settings.server_url}/{settings.repository}" if settings.repository else None
        source = GitSource(repo=settings.workspace, repository=settings.repository, web_url=web_url)
        if settings.from_context is not None:
            from patchpush.collect.saved import SavedChangeSource

            source = SavedChangeSource(path=settings.from_context)
        publisher = LocalFilePublisher(
            repo=settings.workspace, file=settings.file, commit=settings.local_commit
        )
    return Stages(source=source, writer=_writer(settings), publisher=publisher)


def _writer(settings: Settings) -> NotesWriter:
    if settings.writer == "offline":
        from patchpush.notes.offline import OfflineWriter

        return OfflineWriter()
    from patchpush.notes.llm import LlmConfig, LlmWriter

    key = settings.github_token if settings.writer == "github-models" else settings.openai_api_key
    return LlmWriter(
        config=LlmConfig(
            provider=settings.writer,
            model=settings.model,
            api_key=key.reveal(),
            base_url=settings.base_url,
            azure_api_version=settings.azure_api_version,
            max_input_tokens=settings.max_input_tokens,
            timeout=settings.timeout,
            max_concurrency=settings.max_concurrency,
            language=settings.language,
            instructions=settings.instructions,
        )
    )


def commit_message(settings: Settings) -> str:
    # str.replace, not format(): a user's message may contain other braces.
    return settings.commit_message.replace("{file}", settings.file) + f"\n\n{OWN_TRAILER}\n"


def run(settings: Settings, stages: Stages) -> RunReport:
    """Never raises a PatchPushError: a failure is a `failed` report that keeps whatever was generated."""
    # A run allocates a few objects per commit and frees almost nothing until it ends; with the default
    # thresholds the collector re-scans them all many times over (half the offline run on 50,000 commits).
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        return _run(settings, stages)
    finally:
        gc.set_threshold(*thresholds)


def collect(settings: Settings, stages: Stages) -> ChangeSet:
    """The changes to describe: after the commit the notes file records, as settings ask."""
    old = stages.publisher.read(settings.file)
    return stages.source.changes(
        RangeRequest(
            since=settings.since,
            until=settings.until,
            branch=settings.branch,
            last_described=last_described(old),
            max_commits=settings.max_commits,
            include_paths=settings.include_paths,
            exclude_paths=settings.exclude_paths,
            exclude_authors=settings.exclude_authors,
        )
    )


def _run(settings: Settings, stages: Stages) -> RunReport:
    notes: ReleaseNotes | None = None
    markdown = ""
    changes: ChangeSet | None = None
    try:
        changes = collect(settings, stages)
        warnings = _warnings(settings, changes)
        if not changes.changes:
            return RunReport(
                outcome="skipped",
                file=settings.file,
                range_from=changes.base,
                range_to=changes.head,
                warnings=warnings,
            )
        # The template is read (and found missing) before any LLM tokens are spent.
        template = stages.publisher.read(settings.template) if settings.template else None
        if settings.template and template is None:
            raise NotesError(
                f"template '{settings.template}' does not exist in the repository",
                "check the `template` input, a path relative to the repository root",
            )
        notes = stages.writer.write(changes)
        from patchpush.notes.render import render_text  # Jinja2 loads only when there is something to render

        markdown = render_text(
            notes, changes, template=template, template_name=settings.template or "the built-in template"
        )
        written = RunReport(
            outcome="dry-run",
            file=settings.file,
            notes_markdown=markdown,
            notes=notes,
            writer=notes.report,
            range_from=changes.base,
            range_to=changes.head,
            changes=len(changes.changes),
            warnings=warnings + _writer_warnings(notes),
        )
        if settings.dry_run:
            return written
        section = wrap(markdown, base=changes.base, head=changes.newest or changes.head)
        result = stages.publisher.publish(
            lambda old_text: merge(old_text, section, mode=settings.mode),
            message=commit_message(settings),
            section=section,
        )
        return replace(written, outcome=result.outcome, publish=result)
    except PatchPushError as exc:
        return failed(
            settings.file,
            exc,
            notes_markdown=markdown,
            notes=notes,
            writer=notes.report if notes else None,
            range_from=changes.base if changes else None,
            range_to=changes.head if changes else None,
            changes=len(changes.changes) if changes else 0,
        )


def failed(file: str, exc: PatchPushError, **generated: Any) -> RunReport:
    """A `failed` report for `exc`, keeping whatever was generated before it."""
    return RunReport(
        outcome="failed", file=file, error=exc.message, error_stage=exc.stage, hint=exc.hint, **generated
    )


def _warnings(settings: Settings, changes: ChangeSet) -> tuple[str, ...]:
    if changes.truncated:
        return (
            *changes.warnings,
            f"the range holds more than {settings.max_commits} commits; only the newest "
            f"{settings.max_commits} are described (raise `max-commits` or narrow `since`)",
        )
    return changes.warnings


def _writer_warnings(notes: ReleaseNotes) -> tuple[str, ...]:
    if notes.report.fallback_reason:
        return (
            f"the LLM writer was not used ({notes.report.fallback_reason}); "
            "these notes come from the offline writer",
            *notes.report.warnings,
        )
    return notes.report.warnings
