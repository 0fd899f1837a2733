"""Wire the stages: settings -> collect -> notes -> publish, and return what happened as a `RunReport`."""

from __future__ import annotations

import functools
import gc
from dataclasses import dataclass, field, replace
from typing import Any

from patchpush.collect import ChangeSource, RangeRequest
from patchpush.collect.conventional import OWN_TRAILER
from patchpush.errors import NotesError, PatchPushError, PublishError
from patchpush.models import ChangeSet, ReleaseNotes, RunReport
from patchpush.notes import NotesWriter, coverage, layout, release_config
from patchpush.publish import MarkerMoved, Publisher
from patchpush.publish.document import last_described, merge, wrap
from patchpush.report import redact_published
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
        replace_oversized=settings.mode == "overwrite",
    )
    return GitHubApiSource(client=client), publisher


def default_branch(settings: Settings) -> str:
    """The repository's default branch through the API (one request), asked once per run."""
    from patchpush.github_client import default_branch

    return default_branch(
        token=settings.github_token.reveal(), api_url=settings.api_url, repository=settings.repository
    )


def read_file(settings: Settings, path: str) -> str | None:
    """A file of the repository through the API, for the action's config file (it has no checkout)."""
    return _github_stages(settings)[1].read(path)


def build(settings: Settings) -> Stages:
    """The one place that chooses implementations."""
    if settings.backend == "github":
        source, publisher = _github_stages(settings)
    else:
        from patchpush.collect.git import GitSource
        from patchpush.collect.origin import github_origin
        from patchpush.publish.local_file import LocalFilePublisher

        repository = settings.repository
        web_url = f"{settings.server_url}/{repository}" if repository else None
        if not repository and (found := github_origin(settings.workspace, server_url=settings.server_url)):
            # A clone of a GitHub repository links like the action does (issue 8).
            repository, web_url = found
        source = GitSource(repo=settings.workspace, repository=repository, web_url=web_url)
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


# How often a run collects again because other runs described newer changes while it wrote its own.
MAX_COLLECTS = 6


class Unexpected(Exception):
    """Something that is not a PatchPushError broke the run: a bug. `report` is a `failed` report
    that keeps whatever was generated, so the face saves the notes before it exits 2."""

    def __init__(self, report: RunReport) -> None:
        super().__init__("a bug in patch-push")
        self.report = report


def run(settings: Settings, stages: Stages) -> RunReport:
    """Never raises a PatchPushError: a failure is a `failed` report that keeps whatever was generated.
    Anything else is raised as `Unexpected`, which keeps it too."""
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
    return _collect_after(settings, stages, stages.publisher.read(settings.file))


def _collect_after(settings: Settings, stages: Stages, notes_file: str | None) -> ChangeSet:
    return stages.source.changes(
        RangeRequest(
            since=settings.since,
            until=settings.until,
            branch=settings.branch,
            last_described=last_described(notes_file),
            max_commits=settings.max_commits,
            include_paths=settings.include_paths,
            exclude_paths=settings.exclude_paths,
            exclude_authors=settings.exclude_authors,
            notes_file=settings.file,
            noise=settings.noise,
        )
    )


@dataclass
class _Generated:
    """What the run has produced so far: a failure at any later point reports it, and loses none of it."""

    changes: ChangeSet | None = None
    notes: ReleaseNotes | None = None
    markdown: str = ""
    template: str | None = field(default=None, repr=False)

    def kept(self) -> dict[str, Any]:
        return {
            "notes_markdown": self.markdown,
            "notes": self.notes,
            "writer": self.notes.report if self.notes else None,
            "range_from": self.changes.base if self.changes else None,
            "range_to": self.changes.head if self.changes else None,
            "changes": len(self.changes.changes) if self.changes else 0,
        }


def section_rules(settings: Settings, stages: Stages) -> layout.SectionRules:
    """What the notes show: settings, and the repository's release.yml (through the API or the clone)."""
    text = stages.publisher.read(settings.release_config) if settings.release_config else None
    return layout.rules(
        maintenance=settings.maintenance,
        hide=settings.hide_sections,
        titles=settings.section_titles,
        release=release_config.parse(text, name=settings.release_config),
    )


def _run(settings: Settings, stages: Stages) -> RunReport:
    generated = _Generated()
    try:
        return _describe(settings, stages, generated)
    except PatchPushError as exc:
        return failed(settings.file, exc, **generated.kept())
    except Exception as exc:
        bug = PatchPushError(f"{type(exc).__name__}: {exc}")
        raise Unexpected(failed(settings.file, bug, **generated.kept())) from exc


def _describe(settings: Settings, stages: Stages, generated: _Generated) -> RunReport:
    notes_file = stages.publisher.read(settings.file)
    rules = section_rules(settings, stages)
    moved = False
    for _ in range(MAX_COLLECTS):
        start = last_described(notes_file)
        changes = layout.leave_out(_collect_after(settings, stages, notes_file), rules)
        generated.changes, generated.notes, generated.markdown = changes, None, ""
        warnings = _warnings(settings, changes)
        # Behind: the range does not reach the commit the file records, so the file describes a newer
        # range (a run with an older `until`, or one that lost a race) or the history was rewritten.
        # Either way these notes would move the marker backwards.
        behind = (
            settings.since.kind == "auto"
            and start is not None
            and not changes.truncated
            and not (changes.base or "").startswith(start)
        )
        if behind and not moved and start:
            warnings += (
                f"{settings.file} records commit {start[:12]}, which is not in the history of "
                f"{settings.until or settings.branch}: nothing was described. If the history was "
                "rewritten, run once with `since` set to where the notes should start",
            )
        if behind or not changes.changes:
            return RunReport(
                outcome="skipped",
                file=settings.file,
                range_from=start if behind else changes.base,
                range_to=changes.head,
                warnings=warnings,
            )
        notes, markdown, repaired = _write(settings, stages, changes, generated, rules)
        written = RunReport(
            outcome="dry-run",
            file=settings.file,
            notes_markdown=markdown,
            notes=notes,
            writer=notes.report,
            range_from=changes.base,
            range_to=changes.head,
            changes=len(changes.changes),
            warnings=warnings + _writer_warnings(notes) + repaired,
        )
        if settings.dry_run:
            return written
        section = wrap(markdown, base=changes.base, head=changes.newest or changes.head)
        try:
            result = stages.publisher.publish(
                functools.partial(merge, section=section, mode=settings.mode, start=start),
                message=commit_message(settings),
                section=section,
            )
        except MarkerMoved as move:
            # Another run described newer changes meanwhile: collect again after its marker, so the
            # marker only moves forward and nothing is described twice (issue 9, item 7).
            notes_file, moved = move.text, True
            continue
        return replace(written, outcome=result.outcome, publish=result)
    raise PublishError(
        f"{settings.file} kept changing under us: other runs described newer changes "
        f"{MAX_COLLECTS} times while this one wrote",
        "too many jobs write the same file at once; run again, or give the workflow a `concurrency` group",
    )


def _write(
    settings: Settings, stages: Stages, changes: ChangeSet, generated: _Generated, rules: layout.SectionRules
) -> tuple[ReleaseNotes, str, tuple[str, ...]]:
    if settings.template and generated.template is None:
        # The template is read (and found missing) before any LLM tokens are spent.
        generated.template = stages.publisher.read(settings.template)
        if generated.template is None:
            raise NotesError(
                f"template '{settings.template}' does not exist in the repository",
                "check the `template` input, a path relative to the repository root",
            )
    # Whichever writer ran, every change is described exactly once (DESIGN.md, Invariants).
    notes, repaired = coverage.ensure(changes, stages.writer.write(changes))
    notes = layout.arrange(notes, changes, rules)
    generated.notes = notes
    from patchpush.notes.render import render_text  # Jinja2 loads only when there is something to render

    markdown = render_text(
        notes,
        changes,
        template=generated.template,
        template_name=settings.template or "the built-in template",
    )
    # The one place every published text comes from: file, release body, pull request, outputs.
    generated.markdown = redact_published(markdown, settings.secrets())
    return notes, generated.markdown, repaired


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
