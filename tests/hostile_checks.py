"""What a user, a reader of the log or the runner itself would see after a hostile run, as a `Verdict`.

Used by tests/hostile_cases.py (the cases), tests/test_security_*.py and bench/hostile.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm

from tests.action_runner import ActionRun
from tests.github_env import Remote

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "test-token-hostile-0001"
API_KEY = "test-api-key-hostile-0001"
FORGED = "FORGED-BY-CONTENT"
TEMPLATE = ".github/notes.md.j2"


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    lost: bool = False

    @property
    def survived(self) -> bool:
        return not self.problems and not self.leaks and not self.lost

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def __str__(self) -> str:
        return "; ".join([*self.problems, *(f"secret in {where}" for where in self.leaks)]) + (
            "; notes lost" if self.lost else ""
        )


# -- what a user (or the runner) reads back ---------------------------------------------------------


def workflow_commands(stdout: str) -> list[tuple[str, str]]:
    """The workflow commands the runner would act on, as (name, rest), honouring ::stop-commands::."""
    commands: list[tuple[str, str]] = []
    resume: str | None = None
    for raw in stdout.splitlines():
        line = raw.strip()  # the runner trims a line before looking for a command
        if resume is not None:
            if line == f"::{resume}::":
                resume = None
            continue
        match = re.match(r"^::([A-Za-z-]+)(?: [^:]*)?::(.*)$", line) or re.match(
            r"^##\[([A-Za-z-]+)[^\]]*\](.*)$", line
        )
        if not match:
            continue
        if match.group(1) == "stop-commands":
            resume = match.group(2)
        else:
            commands.append((match.group(1), match.group(2)))
    return commands


def errors(run: ActionRun) -> list[str]:
    return [rest for name, rest in workflow_commands(run.stdout) if name == "error"]


def one_clear_error(verdict: Verdict, run: ActionRun, expected: str) -> None:
    """Exit 1, one ::error:: line that says `expected`, and the failure in the summary and log."""
    found = errors(run)
    verdict.check(run.code == 1, f"exit {run.code}, not 1")
    verdict.check(len(found) == 1, f"{len(found)} ::error:: lines, not 1: {found}")
    verdict.check(any(expected in e for e in found), f"no ::error:: saying {expected!r}: {found}")
    verdict.check(run.outputs.get("outcome") == "failed", f"outcome {run.outputs.get('outcome')}")
    verdict.check(expected in run.summary, "the summary does not say what failed")


def no_forged_commands(verdict: Verdict, run: ActionRun) -> None:
    forged = [c for c in workflow_commands(run.stdout) if FORGED in c[1]]
    verdict.check(not forged, f"the runner would run commands from content: {forged}")


class _Html(HTMLParser):
    """Rendered HTML as GitHub's mention filter sees it: text outside a, code and pre elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.open: list[str] = []
        self.live_text: list[str] = []
        self.all_text: list[str] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in ("br", "hr", "img", "input"):
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        self.all_text.append(data)
        if not {"a", "code", "pre"} & set(self.open):
            self.live_text.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def rendered(markdown: str) -> _Html:
    """GitHub's own renderer (cmark-gfm), raw HTML omitted as GitHub omits what it does not allow."""
    page = _Html()
    page.feed(cmarkgfm.github_flavored_markdown_to_html(markdown))
    page.close()
    return page


# Wider than GitHub's pattern: any `@` + alphanumeric after a non-alphanumeric or at a text's start.
_LIVE_MENTION = re.compile(r"(?:^|[^A-Za-z0-9])@[A-Za-z0-9]")
INVISIBLE = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def markdown_problems(markdown: str) -> list[str]:
    """What GitHub would show that the notes must not: images, raw HTML, pings, invisible text."""
    # Our own markers are HTML comments, which GitHub keeps hidden.
    page = rendered(re.sub(r"^<!-- patch-push:[^>]*-->$", "", markdown, flags=re.MULTILINE))
    problems = []
    if "img" in page.tags:
        problems.append("an image is shown")
    if any("raw HTML omitted" in c for c in page.comments):
        problems.append("raw HTML is in the notes")
    problems += [f"a live mention in {text!r}" for text in page.live_text if _LIVE_MENTION.search(text)]
    if INVISIBLE.search("".join(page.all_text)):
        problems.append("invisible characters are in the notes")
    return problems


def find_leaks(secrets: Iterable[str], places: dict[str, str]) -> list[str]:
    """Where any secret, or any line of a multi-line one, shows up."""
    parts = {p.strip() for s in secrets for p in [s, *s.splitlines()] if len(p.strip()) >= 4}
    return [where for where, text in places.items() if any(p in text for p in parts)]


def run_places(run: ActionRun, remote: Remote | None = None) -> dict[str, str]:
    """Everything a run leaves where people can read it (of the repository: what the action committed)."""
    printed = "\n".join(line for line in run.stdout.splitlines() if not line.startswith("::add-mask::"))
    places = {
        "the log": printed + run.stderr,
        "the job summary": run.summary,
        "the outputs": json.dumps(run.outputs),
    }
    for path in run.workspace.rglob("*"):
        if path.is_file() and not path.is_symlink():
            places[f"workspace file {path.relative_to(run.workspace)}"] = path.read_text(errors="replace")
    if remote is not None and remote.bare.exists():
        before = remote.work.head()
        places["the action's commits"] = remote.bare_git("log", "--all", "--format=%B", f"^{before}")
        for name in remote.bare_git("diff", "--name-only", before, "main").splitlines():
            places[f"committed {name}"] = remote.bare_git("show", f"main:{name}")
    return places


def notes_kept(verdict: Verdict, run: ActionRun, remote: Remote) -> None:
    """Generated notes are in the job summary, and in the file or the unpublished-notes file."""
    notes = run.outputs.get("notes", "")
    if not notes:
        return
    first = next((line for line in notes.splitlines() if line.startswith("- ")), notes.splitlines()[0])
    in_summary = first in run.summary
    unpublished = run.workspace / "logs/patch_notes_unpublished.md"
    if run.outputs.get("outcome") == "failed":
        kept = unpublished.is_file() and first in unpublished.read_text()
    elif run.outputs.get("outcome") == "dry-run":
        kept = True
    else:
        file = run.outputs.get("file", "ai_patch.md")
        kept = first in remote.file_at_head(file)
    verdict.lost = not (in_summary and kept)


def finish(
    verdict: Verdict, run: ActionRun, remote: Remote | None, secrets: Iterable[str] = (TOKEN, API_KEY)
) -> Verdict:
    verdict.check(run.code in (0, 1), f"exit {run.code}: a bug in patch-push")
    verdict.leaks += find_leaks(secrets, run_places(run, remote))
    no_forged_commands(verdict, run)
    if remote is not None:
        notes_kept(verdict, run, remote)
    return verdict
