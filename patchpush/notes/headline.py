"""Is the model's title or summary about this release? Checked against the facts of the ChangeSet.

A title or summary that is a commit subject or a Conventional Commit header is none (`is_raw_subject`).
A summary keeps only the sentences that name a described change and no version that change does not
carry (`substance`). Neither may speak of breaking changes in a release without one, and a title may
name no version but the release's and its changes' own. The caller puts the offline writer's title
and summary where these fail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from patchpush.collect.conventional import is_release_commit
from patchpush.models import Change, ChangeSet
from patchpush.notes.attribution import WORD, head, terms
from patchpush.notes.offline import BREAKING, section_of

_HEADER = re.compile(r"^[a-z]+(?:\([^()]*\))?!?:\s")  # a Conventional Commit header: "chore(release): "
_PR_SUFFIX = re.compile(r"\s*\(#\d+\)\s*$")


def _plain(text: str) -> str:
    return " ".join(WORD.findall(_PR_SUFFIX.sub("", text).lower()))


def claims_missing_kind(text: str, changes: Sequence[Change]) -> bool:
    """A title or summary that speaks of a kind of change the release has none of: breaking changes,
    security fixes or deprecations (the 0.5B model titled angular-cli v21.2.2 "Angular CLI Breaking
    Changes"; the 1.5B model summed up v21.2.1 with "security enhancements")."""
    return any(claim.search(text) is not None for claim in _absent_kind_claims(changes))


def _absent_kind_claims(changes: Sequence[Change]) -> list[re.Pattern[str]]:
    """The claims of the kinds of change the release has none of."""
    breaking = any(c.breaking for c in changes)
    kinds = {section_of(c) for c in changes}
    return [claim for kind, claim in _KIND_CLAIMS if not (breaking if kind == BREAKING else kind in kinds)]


_KIND_CLAIMS = (
    (BREAKING, re.compile(r"\bbreaking\b", re.IGNORECASE)),
    ("Security", re.compile(r"\b(?:security|vulnerab\w*|CVE)\b", re.IGNORECASE)),
    ("Deprecations", re.compile(r"\bdeprecat\w*", re.IGNORECASE)),
)


def names_another_version(title: str, changes: ChangeSet) -> bool:
    """A title naming a version that is neither the release's nor any change's: the 1.5B model
    titled commitizen v4.10.0 "Commitizen 4.0.0 Release Notes"."""
    if not changes.head_tag:  # an untagged range has no version to hold a title to
        return False
    subjects = [c.subject for c in changes.changes] + [x.subject for x in changes.left_out]
    known = terms(changes.head_tag) | {t for s in subjects for t in terms(s)}
    return any(_VERSION.match(t) and t not in known for t in terms(title))


def is_raw_subject(text: str, subjects: Iterable[str]) -> bool:
    """A title or summary that is a commit subject or a Conventional Commit header, not a summary."""
    if _HEADER.match(text.strip()):
        return True
    plain = _plain(text)
    return bool(plain) and any(plain == _plain(s) for s in subjects if s)


_VERSION = re.compile(r"^\d+(?:\.\d+)+$")


def substance(summary: str, changes: ChangeSet) -> str:
    """The sentences of a summary that say something of what the release changes, or "" when its
    first sentence does not (what follows an empty opening refers back to it: "It also includes ...").

    A sentence says nothing when its words, leaving out versions and the words of the release's own
    commits ("prepare for v2.11.0"), are in no described change: the 0.5B model opened git-cliff
    v2.11.0's summary with "Prepare for the release of version 2.11.0 by preparing for the release of
    version 2.11.0." and closed it with "The sections are divided into two: Maintenance." It says
    something wrong when it names a version that no change it names carries: "This release updates the
    Angular CLI to version 10.31.0" (10.31.0 was pnpm's). And it echoes the prompt when it holds a word
    of its format that no change holds: "fixes in the JSON matching schema used by Vite" (0.5B, vite
    v8.2.2; the prompt asks for "JSON matching the schema")."""
    release = [x.subject for x in changes.left_out]
    lines = []  # what each change is, not its body: a body can hold any word ("two", "sections")
    for c in changes.changes:
        if is_release_commit(c.subject):
            release.append(c.subject)
        else:
            lines.append(terms(head(c)))
    ignored = {t for s in release for t in terms(s)} | terms(changes.head_tag or "") | _ABOUT_THE_NOTES
    described = set().union(*lines)
    echoed = _PROMPT_FORMAT - described - {t for c in changes.changes for t in terms(c.body)}
    absent = _absent_kind_claims(changes.changes)
    kept = []
    for n, sentence in enumerate(_SENTENCE_END.split(summary.strip())):
        said = {t for t in terms(sentence) - ignored if not t.isdigit()}  # "3 fixes", "(2)"
        words = {t for t in said if not _VERSION.match(t)}
        versions = said - words
        # Every version it names is carried by a change the sentence names by another word too.
        grounded = all(any(v in line and words & line for line in lines) for v in versions)
        if (
            words & described
            and grounded
            and not words & echoed
            and not any(claim.search(sentence) for claim in absent)
        ):
            kept.append(sentence)
        elif n == 0:
            return ""
    return " ".join(kept)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# The words of the prompts (`prompts/notes.toml`) about the answer's format, which no release is about.
_PROMPT_FORMAT = terms("JSON schema untrusted refs compact")
# What a summary says of the notes themselves, which any body may hold too ("sections", "below").
_ABOUT_THE_NOTES = terms(
    "section divided categories category below following includes summary summarizes overview "
    "contains listed maintenance documentation fixes performance"
)
