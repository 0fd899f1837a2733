"""Which commits of a streamed history are in `base..head`, decided as `git log base..head` decides.

GitHub's history of `head` lists every ancestor, newest first, with no way to leave out what `base`
already holds. Stopping at `base` is wrong on real DAGs: a pull request branch forked before `base`
and merged after it has older commits, listed after `base`, that belong to the range; and commits listed
before `base` may be its ancestors. So the walk does what git's revision walk does: the base is
"uninteresting", that mark spreads to every ancestor seen, and the walk is done when every commit still
waiting to be listed is uninteresting (git's `everybody_uninteresting`). A linear history is done one
commit after the base, as before.
"""

from __future__ import annotations

from collections.abc import Iterable


class HistoryWalk:
    """Feed commits in history order with `add`; read `in_range` once `done` (or the history ended).

    `base` is the known base. With `tags` instead, the first tagged commit the history lists becomes
    the base, as `git describe --tags --abbrev=0` finds the nearest tag. With neither, every listed
    commit is in the range (a date range: GitHub's `since` already cut the history).
    """

    def __init__(self, *, base: str | None = None, tags: Iterable[str] = ()) -> None:
        self._uninteresting: set[str] = set()
        self._parents: dict[str, tuple[str, ...]] = {}  # every commit read, from either history
        self._listed: set[str] = set()  # listed by the head's history
        self._order: list[str] = []
        self._pending: set[str] = set()  # parents named but not listed yet
        self._tags = set(tags)
        self._interesting = 0
        self.base = base
        if base is not None:
            self._uninteresting.add(base)

    def add(self, sha: str, parents: tuple[str, ...]) -> None:
        self._pending.discard(sha)
        if self.base is None and sha in self._tags:
            self.base = sha
            self._uninteresting.add(sha)
        self._parents[sha] = parents
        self._listed.add(sha)
        self._order.append(sha)
        if sha in self._uninteresting:
            self._mark_parents(sha)
        else:
            self._interesting += 1
        self._pending.update(p for p in parents if p not in self._listed)

    def exclude(self, sha: str, parents: tuple[str, ...]) -> None:
        """A commit of the base's own history (when the base is no ancestor of the head): left out."""
        self._parents.setdefault(sha, parents)
        if sha not in self._uninteresting:
            self._uninteresting.add(sha)
            if sha in self._listed:
                self._interesting -= 1
        self._mark_parents(sha)

    @property
    def done(self) -> bool:
        # With nothing pending the whole history was listed: done only if the base was in it (a base
        # that is no ancestor of the head, a rewritten history, leaves the caller to decide).
        return (
            self.base is not None
            and self._pending <= self._uninteresting
            and (bool(self._pending) or self.base in self._parents)
        )

    @property
    def seen_base(self) -> bool:
        """The head's history listed the base: it is an ancestor of the head."""
        return self.base is not None and self.base in self._listed

    @property
    def candidates(self) -> int:
        """Commits listed so far that are in the range (as far as the walk knows yet)."""
        return self._interesting

    def in_range(self) -> list[str]:
        return [sha for sha in self._order if sha not in self._uninteresting]

    def listed(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(sha, self._parents[sha]) for sha in self._order]

    def _mark_parents(self, sha: str) -> None:
        # A commit listed before its uninteresting child (clock skew) is marked here too.
        stack = list(self._parents.get(sha, ()))
        while stack:
            parent = stack.pop()
            if parent in self._uninteresting:
                continue
            self._uninteresting.add(parent)
            if parent in self._listed:
                self._interesting -= 1
            stack.extend(self._parents.get(parent, ()))
