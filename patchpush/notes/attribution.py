"""Is a model's item about the changes it cites? Word overlap, weighted by rarity within the chunk.

Each change line the model was shown and each item it wrote becomes a set of terms: words folded to a
short stem ("caching", "cached", "cache" -> "cach"), with function words and the verbs every release
note uses ("add", "fix", "improve") left out. A term weighs more the fewer lines of the chunk hold it
(inverse document frequency), and an item term that no line holds weighs most: it explains nothing.
A line's support for an item is the share of the item's weight that the line's terms explain.

An item keeps the cited lines that explain a fair share of it, compared with the line that explains
it best (`KEEP_SHARE`). When none of its cited lines does, it moves to the one line that clearly
explains it (`CLEAR_LEAD` ahead of the next), or, when no line does, it is replaced by the offline
writer's items for its refs. Measured on real ranges by `bench/llm_quality.py`; the paraphrase cases
that pin the false alarms are in `tests/notes/test_attribution.py`.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from patchpush.models import Change, NoteItem
from patchpush.notes import answer
from patchpush.notes.budget import Entry
from patchpush.notes.offline import BREAKING, OTHER, SECTION_ORDER, section_of

KEEP_SHARE = 0.6  # a cited line stays while it explains 60% of what the best line explains
MIN_SUPPORT = 0.1  # ...and at least this share of the item (in English; see `strict`)
MIN_REATTRIBUTE = 0.25  # a line the item does not cite must explain this much to take the item
CLEAR_LEAD = 1.5  # ...and this many times more than any other line
_STEM = 6  # characters a term keeps: "configuration", "configure", "configurable" -> "config"
_MAX_FILES = 20  # paths of a change that count as its words (a 500-file change is not about all of them)

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORD = re.compile(r"[^\W\d_]+|\d+")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "ed", "es", "s", "ly")
# Abbreviations commit subjects use for words a model spells out.
_SYNONYMS = {
    "docs": "document",
    "doc": "document",
    "cfg": "config",
    "conf": "config",
    "deps": "depend",
    "dep": "depend",
    "env": "environ",
    "repo": "repository",
    "dir": "director",
    "msg": "message",
    "args": "argument",
    "arg": "argument",
    "perf": "perform",
    "auth": "authent",
    "init": "initial",
    "impl": "implement",
    "info": "inform",
    "ts": "typescript",
    "js": "javascript",
}
# Function words, and what every release note says whatever it is about.
_STOP_WORDS = """a about above after again all also an and any are as at be been before being both but by can
    could did do does doing done for from had has have having here how if in into is it its itself
    just may more most much must no nor not now of off on once only or other our out over own same
    should so some such than that the their them then there these they this those through to too
    under until up upon very via was we were what when where which while who why will with would you
    your yet instead already still without within across etc e g i ie eg
    add adds added adding fix fixes fixed fixing update updates updated updating improve improves
    improved improving improvement support supports supported supporting new now allow allows
    allowed enable enables enabled make makes made change changes changed use uses used using
    properly correctly correct better handle handles handled handling minor various several small
    issue issues bug bugs problem problems feature features release notes version users user
    feat chore ci build test tests refactor style revert breaking
"""
_STOP = frozenset(_STOP_WORDS.split())


def terms(text: str) -> set[str]:
    """The words of `text` that say what it is about, folded to stems."""
    words = _WORD.findall(_CAMEL.sub(" ", text).lower())
    return {_stem(w) for w in words if w not in _STOP and (len(w) > 1 or w.isdigit())}


def _stem(word: str) -> str:
    if word.isdigit():
        return word
    word = _SYNONYMS.get(word, word)
    if len(word) > 4:
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word[:_STEM]


@dataclass(frozen=True)
class Verdict:
    """What to do with one item: the lines it keeps (empty: replace it by the offline items)."""

    refs: tuple[int, ...]
    # How much each kept line explains the item: when several items cite one line, the best keeps it.
    support: dict[int, float] = field(default_factory=dict)

    @property
    def replaced(self) -> bool:
        return not self.refs


class Attributor:
    """The lines of one chunk (index = position in the chunk), ready to judge the items written for it.

    `strict` is for notes written in the language of the commits (English): an item that no line
    explains is replaced. Notes in another language share only names with the lines, so there an item
    keeps its refs unless another line clearly explains it.
    """

    def __init__(self, lines: Sequence[str], *, strict: bool = True) -> None:
        self._strict = strict
        bags = [terms(line) for line in lines]
        df = Counter(t for bag in bags for t in bag)
        n = len(lines)
        self._idf = {t: math.log((1 + n) / (1 + d)) + 1 for t, d in df.items()}
        self._unknown = math.log(1 + n) + 1  # a term no line holds: as rare as can be
        self._index: dict[str, list[int]] = defaultdict(list)
        for i, bag in enumerate(bags):
            for t in bag:
                self._index[t].append(i)

    def support(self, text: str) -> dict[int, float]:
        """Each line's share of the item's weight that it explains (lines explaining nothing left out)."""
        item = terms(text)
        total = sum(self._idf.get(t, self._unknown) for t in item)
        if not total:
            return {}
        explained: dict[int, float] = defaultdict(float)
        for t in item:
            weight = self._idf.get(t)
            if weight is not None:
                for i in self._index[t]:
                    explained[i] += weight
        return {i: w / total for i, w in explained.items()}

    def judge(self, text: str, cited: Iterable[int]) -> Verdict:
        cited = tuple(dict.fromkeys(cited))
        support = self.support(text)
        best = max(support.values(), default=0.0)
        floor = MIN_SUPPORT if self._strict else 0.0
        kept = tuple(r for r in cited if support.get(r, 0.0) >= max(floor, KEEP_SHARE * best))
        if kept and (best > 0 or not self._strict):
            return Verdict(kept, {r: support.get(r, 0.0) for r in kept})
        ranked = sorted(support.items(), key=lambda kv: (-kv[1], kv[0]))
        if ranked and ranked[0][1] >= MIN_REATTRIBUTE:
            runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
            if ranked[0][1] >= CLEAR_LEAD * runner_up:
                line, share = ranked[0]
                return Verdict((line,), {line: share})
        return Verdict(())


@dataclass
class Review:
    """One chunk's answer after the checks: the items to publish, in the section their facts decide,
    and what was corrected. The changes of a chunk the model got mostly wrong come from the offline
    writer instead (the caller's coverage step)."""

    items: list[tuple[str, NoteItem]] = field(default_factory=list)
    written: int = 0  # items the model wrote
    invented: int = 0  # refs to lines it was not shown
    dropped: int = 0  # items without one valid ref, or without text
    reattributed: int = 0
    replaced: int = 0
    resectioned: int = 0
    duplicates: int = 0  # refs taken from an item because another one describes that change better

    @property
    def wrong(self) -> int:
        return self.replaced + self.dropped

    @property
    def mostly_wrong(self) -> bool:
        return 2 * self.wrong > self.written


@dataclass
class _Candidate:
    section: str
    text: str
    verdict: Verdict


def review(
    sections: Sequence[tuple[str, Sequence[tuple[str, Sequence[str]]]]],
    chunk: Sequence[Entry],
    *,
    strict: bool = True,
) -> Review:
    """Ground, attribute, de-duplicate and file the items the model wrote for `chunk` (its lines are
    numbered from 1)."""
    result = Review()
    attributor = Attributor([_line_words(entry) for entry in chunk], strict=strict)
    candidates: list[_Candidate] = []
    for title, items in sections:
        for text, refs in items:
            result.written += 1
            cited = [n - 1 for n in (_line_number(r) for r in refs) if n is not None and 1 <= n <= len(chunk)]
            result.invented += len(refs) - len(cited)
            text = answer.clean(text)
            if not cited or not text:
                result.dropped += 1
                continue
            verdict = attributor.judge(text, cited)
            if verdict.replaced:
                result.replaced += 1
                continue
            if verdict.refs != tuple(dict.fromkeys(cited)):
                result.reattributed += 1
            candidates.append(_Candidate(answer.section_title(title), text, verdict))
    # Exactly once: a line cited by several items stays with the one it explains best (the first on a tie).
    owner: dict[int, int] = {}
    for n, candidate in enumerate(candidates):
        for line in candidate.verdict.refs:
            held = owner.get(line)
            if held is None or candidate.verdict.support[line] > candidates[held].verdict.support[line]:
                owner[line] = n
    for n, candidate in enumerate(candidates):
        lines = [line for line in candidate.verdict.refs if owner[line] == n]
        result.duplicates += len(candidate.verdict.refs) - len(lines)
        if not lines:
            continue
        changes = [c for line in lines for c in chunk[line].changes]
        section = section_for(candidate.section, changes)
        result.resectioned += section != candidate.section
        prs = tuple(dict.fromkeys(c.pr_number for c in changes if c.pr_number is not None))
        item = NoteItem(text=candidate.text, shas=tuple(c.sha for c in changes), prs=prs)
        result.items.append((section, item))
    return result


def section_for(model_section: str, changes: Sequence[Change]) -> str:
    """The section facts decide: the weightiest of the changes' own sections (the offline writer's).
    Only when none of them has a type does the model's choice stand, and it cannot call a change
    breaking that is not."""
    typed = [s for s in (section_of(c) for c in changes) if s != OTHER]
    if typed:
        rank = {title: n for n, title in enumerate(SECTION_ORDER)}
        return min(typed, key=lambda s: rank.get(s, len(rank)))
    return OTHER if model_section == BREAKING else model_section


_REF = re.compile(r"^\s*(?:#|line\s*)?(\d{1,6})\s*$", re.IGNORECASE)


def _line_number(ref: str) -> int | None:
    match = _REF.match(ref)
    return int(match.group(1)) if match else None


def _line_words(entry: Entry) -> str:
    """What the model was shown of a change, and the paths it touches where they are known."""
    paths = [p for change in entry.changes for p in change.files][:_MAX_FILES]
    return entry.text + (" " + " ".join(paths) if paths else "")


_HEADER = re.compile(r"^[a-z]+(?:\([^()]*\))?!?:\s")  # a Conventional Commit header: "chore(release): "
_PR_SUFFIX = re.compile(r"\s*\(#\d+\)\s*$")


def _plain(text: str) -> str:
    return " ".join(_WORD.findall(_PR_SUFFIX.sub("", text).lower()))


def is_raw_subject(text: str, subjects: Iterable[str]) -> bool:
    """A title or summary that is a commit subject or a Conventional Commit header, not a summary."""
    if _HEADER.match(text.strip()):
        return True
    plain = _plain(text)
    return bool(plain) and any(plain == _plain(s) for s in subjects if s)
