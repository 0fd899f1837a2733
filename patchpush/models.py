"""The plain, frozen types the stages pass to each other. Each can be saved to JSON and loaded back."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

# `written` is the CLI's: the file was written locally without a commit. The action never says it.
OutcomeName = Literal["committed", "pull-request", "skipped", "dry-run", "failed", "written"]


@dataclass(frozen=True)
class Since:
    """Where the range starts: after the last described commit, after a ref, or after a moment."""

    kind: Literal["auto", "ref", "date"]
    ref: str | None = None
    date: datetime | None = None


@dataclass(frozen=True)
class Change:
    """One commit in the described range, with its pull request where there is one."""

    sha: str
    subject: str
    body: str = ""
    author_name: str = ""
    author_email: str = ""
    author_login: str | None = None
    date: str = ""
    parents: tuple[str, ...] = ()
    # Conventional Commit fields; `type` is None for a message that is not conventional.
    type: str | None = None
    scope: str | None = None
    breaking: bool = False
    description: str = ""
    reverts: str | None = None
    co_authors: tuple[str, ...] = ()
    pr_number: int | None = None
    pr_title: str | None = None
    pr_body: str | None = None
    pr_labels: tuple[str, ...] = ()
    pr_author: str | None = None
    # The release or integration pull request this commit reached the branch through. Such a pull
    # request is described commit by commit (or pull request by pull request), each item citing it.
    via_pr: int | None = None
    # Paths the commit touches, where the collector knows them (empty means unknown, not "none").
    files: tuple[str, ...] = ()

    @property
    def short_sha(self) -> str:
        return self.sha[:7]


# The rules that leave out what real changelogs leave out; each can be turned off (the `noise` input).
NOISE_RULES = ("release", "fixup", "back-merge")


@dataclass(frozen=True)
class LeftOut:
    """A commit of the range that a named rule kept out of the notes on purpose."""

    sha: str
    # bot, own-notes, path-filter, revert-pair, release, fixup, back-merge, merge, ...
    rule: str
    subject: str = ""


@dataclass(frozen=True)
class ChangeSet:
    """What one run describes: the commits after `base` up to and including `head`, newest first."""

    repository: str
    head: str
    base: str | None = None
    changes: tuple[Change, ...] = ()
    # Web address of the repository (https://github.com/owner/name); links are built from it.
    web_url: str | None = None
    head_tag: str | None = None
    # The newest commit of the range that is not patch-push's own: what the next run starts after.
    # Two runs that saw the same changes record the same commit, whatever notes commit landed meanwhile.
    newest: str | None = None
    truncated: bool = False
    excluded: int = 0
    # What collecting could not do, for the job summary (e.g. pull requests the token may not read).
    warnings: tuple[str, ...] = ()
    # Every commit of the range that is not in `changes`, with the rule that left it out.
    left_out: tuple[LeftOut, ...] = ()
    # Accounts whose first contribution to the repository is in this range.
    new_contributors: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ChangeSet:
        raw = json.loads(text)
        changes = tuple(_change_from_dict(c) for c in raw.pop("changes", []))
        raw["warnings"] = tuple(raw.get("warnings", ()))
        raw["left_out"] = tuple(LeftOut(**x) for x in raw.get("left_out", ()))
        raw["new_contributors"] = tuple(raw.get("new_contributors", ()))
        return cls(changes=changes, **raw)

    def by_sha(self) -> dict[str, Change]:
        return {c.sha: c for c in self.changes}


def _change_from_dict(raw: dict[str, Any]) -> Change:
    for key in ("co_authors", "pr_labels", "parents", "files"):
        raw[key] = tuple(raw.get(key, ()))
    return Change(**raw)


@dataclass(frozen=True)
class NoteItem:
    """One line of the notes and the changes it describes."""

    text: str
    shas: tuple[str, ...] = ()
    prs: tuple[int, ...] = ()


@dataclass(frozen=True)
class Section:
    title: str
    items: tuple[NoteItem, ...]
    # Rendered folded away (a <details> block in Markdown): the Maintenance block by default.
    collapsed: bool = False


@dataclass(frozen=True)
class WriterReport:
    """How the notes were written: which writer, why the LLM was not used, what it cost and fixed."""

    writer: Literal["llm", "offline"] = "offline"
    fallback_reason: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 0
    invented_refs: int = 0
    dropped_items: int = 0
    added_for_coverage: int = 0
    # Items the attribution check moved to the change that explains them, or replaced by offline items.
    reattributed: int = 0
    replaced: int = 0
    # Items moved to the section their changes' types decide.
    resectioned: int = 0
    duplicates_removed: int = 0
    # Changes the coverage invariant found missing after writing (a bug, repaired and warned about).
    coverage_repaired: int = 0
    # Items published with the model's text (re-attributed ones included).
    kept: int = 0
    # What the writer wants the job summary to say (a chunk the model got mostly wrong, ...).
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReleaseNotes:
    title: str
    summary: str
    sections: tuple[Section, ...]
    report: WriterReport = field(default_factory=WriterReport)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ReleaseNotes:
        raw = json.loads(text)
        sections = tuple(
            Section(
                title=s["title"],
                items=tuple(
                    NoteItem(text=i["text"], shas=tuple(i.get("shas", ())), prs=tuple(i.get("prs", ())))
                    for i in s["items"]
                ),
                collapsed=bool(s.get("collapsed", False)),
            )
            for s in raw["sections"]
        )
        report_raw = raw.get("report", {})
        report_raw["warnings"] = tuple(report_raw.get("warnings", ()))
        report = WriterReport(**report_raw)
        return cls(title=raw["title"], summary=raw["summary"], sections=sections, report=report)


@dataclass(frozen=True)
class PublishResult:
    outcome: OutcomeName
    file: str
    commit_sha: str | None = None
    commit_url: str | None = None
    pull_request_url: str | None = None
    release_url: str | None = None


@dataclass(frozen=True)
class RunReport:
    """Everything the report stage turns into outputs, the job summary and the failure log."""

    outcome: OutcomeName
    file: str
    notes_markdown: str = ""
    notes: ReleaseNotes | None = None
    publish: PublishResult | None = None
    writer: WriterReport | None = None
    range_from: str | None = None
    range_to: str | None = None
    changes: int = 0
    error: str | None = None
    error_stage: str | None = None
    hint: str | None = None
    warnings: tuple[str, ...] = ()
