"""Is a model's item about the changes it cites? Word overlap, weighted by rarity within the chunk.

Each change line the model was shown and each item it wrote becomes a set of terms: words folded to a
short stem ("caching", "cached", "cache" -> "cach"), with function words and the verbs every release
note uses ("add", "fix", "improve") left out. A term weighs more the fewer lines of the chunk hold it
(inverse document frequency), and an item term that no line holds weighs most: it explains nothing.
A line's support for an item is the share of the item's weight that the line's terms explain.

An item keeps the cited lines that explain a fair share of it, compared with the line it does not
cite that explains it best (`KEEP_SHARE`). When none of its cited lines does, it moves to the one line
that clearly explains it (`CLEAR_LEAD` times or `CLEAR_MARGIN` ahead of the next), or, when no line
does, it is replaced by the offline writer's items for its refs. So is an item one of whose clauses
is about a line it does not cite (`_mixes`): small models splice two neighbouring changes into one;
and so is an item that drops the "avoid" or "don't" of every change it cites (`_inverts`).

What a model adds to a true item goes: a last clause of consequences its changes never state
("..., which can help prevent security vulnerabilities", `trim`), a last "in the `Init` command"
taken from another line (`unplace`), a copied commit header. Every rule comes from what a real model
published (`bench/llm_quality.py`, answers in `bench/answers/`); the paraphrase cases that pin the
false alarms are in `tests/notes/test_attribution.py`. The title and summary: `headline.py`.
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

KEEP_SHARE = 0.6  # a cited line stays while it explains 60% of what the best uncited line explains
MIN_SUPPORT = 0.05  # ...and at least this share of the item (in English; see `strict`)
DETAIL_WEIGHT = 0.5  # a word only a change's body or paths hold explains half as much
MIN_REATTRIBUTE = 0.4  # a line the item does not cite must explain this much to take the item,
MIN_REATTRIBUTE_TERMS = 2  # ...with this many of its terms ("Stability" alone is no evidence),
CLEAR_LEAD = 1.5  # ...and this many times more than any other line,
CLEAR_MARGIN = 0.25  # or this share of the item more (what tells "batch 2" from "batch 14")
# An item mixes in another change when one of its clauses (of at least MIX_TERMS terms) is explained
# this much by an uncited line's subject, and less than MIX_RATIO of that by its own lines: "Fix comment
# for git: Add docs about fail_on_unmatched_commit" citing only the fail-on-unmatched change.
MIX_SHARE = 0.5
MIX_RATIO = 0.5
MIX_TERMS = 2
_STEM = 6  # characters a term keeps: "configuration", "configure", "configurable" -> "config"
_MAX_FILES = 20  # paths of a change that count as its words (a 500-file change is not about all of them)

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
WORD = re.compile(r"\d+(?:\.\d+)+|[^\W\d_]+|\d+")  # a version ("2.13.0") is one term
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
    just may more most much must no nor not now of off on once only or other our out over own same per each
    should so some such than that the their them then there these they this those through to too
    under until up upon very via was we were what when where which while who why will with would you
    your yet instead already still without within across between etc e g i ie eg
    add adds added adding fix fixes fixed fixing update updates updated updating improve improves
    improved improving improvement support supports supported supporting new now allow allows
    allowed enable enables enabled make makes made change changes changed use uses used using
    properly correctly correct better handle handles handled handling minor various several small
    issue issues bug bugs problem problems feature features release notes version
    feat chore refactor breaking
"""
_STOP = frozenset(_STOP_WORDS.split())


def terms(text: str) -> set[str]:
    """The words of `text` that say what it is about, folded to stems."""
    words = WORD.findall(_CAMEL.sub(" ", text).lower())
    return {_stem(w) for w in words if w not in _STOP and (len(w) > 1 or w.isdigit())}


def _stem(word: str) -> str:
    if word[0].isdigit():  # a number or a version ("10.31.0"), whole
        return word
    word = _SYNONYMS.get(word, word)
    if len(word) > 4:
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
    # A final "e" goes ("cache" -> "cach"), and one of a doubled consonant ("logg", "skipp", "tagg").
    if len(word) > 3 and (word.endswith("e") or (word[-1] == word[-2] and word[-1] not in "lsz")):
        word = word[:-1]
    return word[:_STEM]


@dataclass(frozen=True)
class Verdict:
    """What to do with one item: the lines it keeps (empty: replace it by the offline items)."""

    refs: tuple[int, ...]
    # The weight of the item's words each kept line explains: when several items cite one line, the
    # one with most to say about it keeps it (a bare "Commit fixes" explains little of anything).
    strength: dict[int, float] = field(default_factory=dict)

    @property
    def replaced(self) -> bool:
        return not self.refs


class Attributor:
    """The lines of one chunk (index = position in the chunk), ready to judge the items written for it.

    `strict` is for notes written in the language of the commits (English): an item that no line
    explains is replaced. Notes in another language share only names with the lines, so there an item
    keeps its refs unless another line clearly explains it.
    """

    @classmethod
    def of(cls, chunk: Sequence[Entry], *, strict: bool = True) -> Attributor:
        """The attributor of a chunk's entries, from what the model was shown of each."""
        heads, details = zip(*(_line_words(entry) for entry in chunk), strict=True) if chunk else ((), ())
        return cls(heads, details=details, strict=strict)

    def __init__(self, lines: Sequence[str], *, details: Sequence[str] = (), strict: bool = True) -> None:
        """`lines`: what each change is (subject, scope, PR title); `details`: what else was said about
        it (bodies, paths), whose words count for less: a squash merge's body lists every sub-commit."""
        self._strict = strict
        self._negates = [NEGATES.search(line) is not None for line in lines]
        heads = [terms(line) for line in lines]
        bags = [head | terms(detail) for head, detail in zip(heads, details, strict=False)]
        bags += heads[len(bags) :]
        self._bags = bags
        df = Counter(t for bag in bags for t in bag)
        n = len(lines)
        self._idf = {t: math.log((1 + n) / (1 + d)) + 1 for t, d in df.items()}
        self._unknown = math.log(1 + n) + 1  # a term no line holds: as rare as can be
        self._index: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, bag in enumerate(bags):
            for t in bag:
                self._index[t].append((i, 1.0 if t in heads[i] else DETAIL_WEIGHT))

    def support(self, text: str) -> dict[int, float]:
        """Each line's share of the item's weight that it explains (lines explaining nothing left out)."""
        return self._explain(text)[0]

    def _explain(
        self, text: str, *, heads_only: bool = False
    ) -> tuple[dict[int, float], Counter[int], float]:
        """Support per line, how many of the item's terms each line holds, and the item's weight."""
        item = terms(_TYPE.sub(_scope_only, text))  # a model that copies "perf(ci): ..." means the scope
        total = sum(self._idf.get(t, self._unknown) for t in item)
        explained: dict[int, float] = defaultdict(float)
        hits: Counter[int] = Counter()
        if not total:
            return {}, hits, 0.0
        for t in item:
            weight = self._idf.get(t)
            if weight is not None:
                for i, factor in self._index[t]:
                    if heads_only and factor < 1:
                        continue
                    explained[i] += weight * factor
                    hits[i] += 1
        return {i: w / total for i, w in explained.items()}, hits, total

    def judge(self, text: str, cited: Iterable[int]) -> Verdict:
        cited = tuple(dict.fromkeys(cited))
        # An item that cites nothing may only go to a line whose subject explains it: a body can
        # tell the model what to write ("add an item: free money"), so it cannot vouch for an item.
        support, hits, total = self._explain(text, heads_only=not cited)
        best = max(support.values(), default=0.0)
        # A cited line competes with the lines the item does not cite, not with its co-cited lines:
        # an item may merge two changes and say more about one of them.
        rival = max((share for line, share in support.items() if line not in cited), default=0.0)
        floor = MIN_SUPPORT if self._strict else 0.0
        kept = tuple(r for r in cited if support.get(r, 0.0) >= max(floor, KEEP_SHARE * rival))
        if kept and (best > 0 or not self._strict):
            if self._strict and (self._mixes(text, kept) or self._inverts(text, kept)):
                return Verdict(())
            return Verdict(kept, {r: support.get(r, 0.0) * total for r in kept})
        ranked = sorted(support.items(), key=lambda kv: (-kv[1], kv[0]))
        # In another language only names match, and a name weighs less of the item: half the bar.
        bar = MIN_REATTRIBUTE if self._strict else MIN_REATTRIBUTE / 2
        if ranked and ranked[0][1] >= bar and hits[ranked[0][0]] >= MIN_REATTRIBUTE_TERMS:
            runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
            if ranked[0][1] >= CLEAR_LEAD * runner_up or ranked[0][1] - runner_up >= CLEAR_MARGIN:
                line, share = ranked[0]
                if self._strict and (self._mixes(text, (line,)) or self._inverts(text, (line,))):
                    return Verdict(())
                return Verdict((line,), {line: share * total})
        if not self._strict:  # no evidence against the refs is not evidence against them
            return Verdict(cited, {r: support.get(r, 0.0) * total for r in cited})
        return Verdict(())

    def _inverts(self, text: str, refs: Sequence[int]) -> bool:
        """Whether the item drops the "avoid"/"don't" of every change it cites: "The optimizer is run
        for transform requests before init." for "avoid optimizer run for transform request before
        init" (the 0.5B model on vite v8.1.4) says the opposite with the same words."""
        return all(self._negates[r] for r in refs) and _NEGATED.search(text) is None

    def trim(self, text: str, refs: Sequence[int] | None = None) -> str:
        """The item without a last clause of consequences that no line speaks of (none of `refs`,
        when given): "..., which can help prevent security vulnerabilities." A small model pads a
        true item with claims of its own, or with another line's ("to improve readability")."""
        match = _PADDING.search(text) if self._strict else None
        if match is None:
            return text
        claimed = terms(match.group(0))
        known = self._idf.keys() if refs is None else set().union(*(self._bags[r] for r in refs))
        if not claimed or any(t in known for t in claimed):
            return text
        return text[: match.start()].rstrip() + "."

    def unplace(self, text: str, refs: Sequence[int]) -> str:
        """The item without a last "in the `Init` command" that none of its changes is about: the
        1.5B model put commitizen's "add contributing for nix users" "in the `Init` command", a
        name it took from the next line."""
        match = _PLACE.search(text) if self._strict else None
        if match is None or any(terms(match.group(1)) & self._bags[r] for r in refs):
            return text
        return text[: match.start()].rstrip() + ("." if text.rstrip().endswith(".") else "")

    def _mixes(self, text: str, refs: Sequence[int]) -> bool:
        """Whether a clause of the item is about a change it does not cite: a small model splices two
        neighbouring lines into one item, and the whole item's words still favour the line it cites."""
        for clause in _CLAUSE.split(_TYPE.sub(_scope_only, text)):
            if len(terms(clause)) < MIX_TERMS:
                continue
            own = self.support(clause)
            by_subject = self._explain(clause, heads_only=True)[0]
            rival = max((share for line, share in by_subject.items() if line not in refs), default=0.0)
            if rival >= MIX_SHARE and max(own.get(r, 0.0) for r in refs) < MIX_RATIO * rival:
                return True
        return False


# A change that keeps something from happening, and the words an item saying so would use.
NEGATES = re.compile(
    r"\b(?:avoid|avoids|prevent|prevents|stop|stops|never|not|without|skip|skips|disable|disables|"
    r"ignore|ignores)\b|n't\b|\bno longer\b",
    re.IGNORECASE,
)
_NEGATED = re.compile(
    r"\b(?:not|no|never|avoid\w*|prevent\w*|stop\w*|skip\w*|without|instead|longer|gone|remov\w*|"
    r"drop\w*|eliminat\w*|disabl\w*|ignor\w*|delet\w*|rid|only|unless|fix\w*|resolv\w*|correct\w*|"
    r"un[a-z]{4,})\b|n't\b",
    re.IGNORECASE,
)
# The last clause of an item, when it tells what the change leads to.
_PADDING = re.compile(
    r"(?:,\s+(?:which|that|so that|making|helping|allowing|ensuring|improving|providing|enabling|leading)"
    r"|,?\s+(?:to|for)\s+(?:improve|ensure|enhance|increase|boost|better|greater|more)\b)"
    r"[^,.;:]*\.?$",
    re.IGNORECASE,
)
# A last "in the `Init` command", "of the `Check` class": where a model says a change took place.
_PLACE = re.compile(r"\s+(?:in|of|for|from|to)\s+the\s+`([^`]+)`(?:\s+[a-z]+)?\s*\.?\s*$")
# Where an item's clauses part: "X: Y", "X; Y", "X, and Y", "X and Y", "X, so Y".
_CLAUSE = re.compile(r"[:;]\s+|,\s+(?:and\s+)?|\s+and\s+|\s+(?:so|while|plus|also)\s+")


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
    attributor = Attributor.of(chunk, strict=strict)
    candidates: list[_Candidate] = []
    for title, items in sections:
        for text, refs in items:
            result.written += 1
            cited = [n - 1 for n in (_line_number(r) for r in refs) if n is not None and 1 <= n <= len(chunk)]
            result.invented += len(refs) - len(cited)
            # Small models copy the whole line: keep what it says, not its header or its details.
            text = answer.clean(_COPIED.sub("", text.split(" | ", 1)[0]))
            if not text or (refs and not cited):
                result.dropped += 1
                continue
            # An item citing nothing goes to the line that clearly explains it, if one does.
            text = attributor.trim(text)
            # One word ("warning", all the 0.5B model left of "fix(cli) warning") is no item.
            verdict = attributor.judge(text, cited) if len(text.split()) > 1 else Verdict(())
            if verdict.replaced:
                if cited:
                    result.replaced += 1
                else:
                    result.dropped += 1
                continue
            if verdict.refs != tuple(dict.fromkeys(cited)):
                result.reattributed += 1
            text = attributor.unplace(attributor.trim(text, verdict.refs), verdict.refs)
            candidates.append(_Candidate(answer.section_title(title), text, verdict))
    # Exactly once: a line cited by several items stays with the one it explains best (the first on a tie).
    owner: dict[int, int] = {}
    for n, candidate in enumerate(candidates):
        for line in candidate.verdict.refs:
            held = owner.get(line)
            if held is None or candidate.verdict.strength[line] > candidates[held].verdict.strength[line]:
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


_TYPE = re.compile(r"^(?:breaking: )?[a-z]+(?:\(([^()]*)\))?!?: ")
# A header as a model copies it: "Fix(remote): ...", or without its colon, "refactor(deps) MSRV ...".
_COPIED = re.compile(r"^(?:breaking: )?[a-z]+(?:\([^()]*\)!?:?|!?:)\s+", re.IGNORECASE)


def _scope_only(header: re.Match[str]) -> str:
    return f"{header.group(1) or ''} "


def head(change: Change) -> str:
    """What a change is: its scope, subject and PR title (not its body)."""
    return " ".join((change.scope or "", change.description or change.subject, change.pr_title or ""))


def _line_words(entry: Entry) -> tuple[str, str]:
    """What the model was shown of a change: what it is (scope, subject, PR title), and the rest of its
    line with the paths it touches where they are known. Its type word says nothing about what it does:
    "perf" would explain every item that mentions speed."""
    what = " ".join(head(change) for change in entry.changes)
    paths = [p for change in entry.changes for p in change.files][:_MAX_FILES]
    details = _TYPE.sub(_scope_only, entry.text)
    return what, details + (" " + " ".join(paths) if paths else "")
