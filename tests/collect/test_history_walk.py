"""The history walk decides `base..head` as git does, on random DAGs listed in any order GitHub may use."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from patchpush.collect.history_walk import HistoryWalk

Dag = dict[str, tuple[str, ...]]


@st.composite
def dags(draw: st.DrawFn) -> tuple[Dag, list[str]]:
    """A DAG of up to 40 commits (merges, octopus merges, long-lived branches), and a listing of it:
    newest first, children before parents, shuffled among what is free to go next (as dates allow)."""
    size = draw(st.integers(min_value=1, max_value=40))
    dag: Dag = {}
    for n in range(size):
        if n == 0:
            parents: tuple[str, ...] = ()
        else:
            count = draw(st.sampled_from([1, 1, 1, 2, 2, 3]))
            picks = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=count, unique=True))
            parents = tuple(f"c{p}" for p in picks)
        dag[f"c{n}"] = parents
    head = f"c{size - 1}"
    reachable = _ancestors(dag, head)
    children: dict[str, set[str]] = {c: set() for c in reachable}
    for commit in reachable:
        for parent in dag[commit]:
            children[parent].add(commit)
    order, free, done = [], [head], set()
    while free:
        pick = free.pop(draw(st.integers(0, len(free) - 1)))
        order.append(pick)
        done.add(pick)
        for parent in dag[pick]:
            if parent not in done and parent not in free and children[parent] <= done:
                free.append(parent)
    return dag, order


def _ancestors(dag: Dag, start: str) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        sha = stack.pop()
        if sha not in seen:
            seen.add(sha)
            stack.extend(dag[sha])
    return seen


def walk_until_done(walk: HistoryWalk, dag: Dag, order: list[str]) -> HistoryWalk:
    for sha in order:
        walk.add(sha, dag[sha])
        if walk.done:
            break
    return walk


@given(dags(), st.data())
def test_the_range_is_what_git_log_base_head_lists(graph: tuple[Dag, list[str]], data: st.DataObject) -> None:
    dag, order = graph
    base = data.draw(st.sampled_from(order))
    walk = walk_until_done(HistoryWalk(base=base), dag, order)
    expected = _ancestors(dag, order[0]) - _ancestors(dag, base)
    assert set(walk.in_range()) == expected
    # Listed newest first, as the history came.
    assert walk.in_range() == [sha for sha in order if sha in expected]


@given(dags(), st.data())
def test_the_nearest_tag_listed_is_the_base(graph: tuple[Dag, list[str]], data: st.DataObject) -> None:
    dag, order = graph
    tags = set(data.draw(st.lists(st.sampled_from(order), max_size=4)))
    walk = walk_until_done(HistoryWalk(tags=tags), dag, order)
    first_tag = next((sha for sha in order if sha in tags), None)
    assert walk.base == first_tag
    below = _ancestors(dag, first_tag) if first_tag else set()
    assert set(walk.in_range()) == _ancestors(dag, order[0]) - below


def test_a_linear_history_is_done_before_the_base_is_even_listed() -> None:
    dag = {"a": (), "b": ("a",), "c": ("b",), "d": ("c",)}
    walk = HistoryWalk(base="b")
    listed = []
    for sha in ["d", "c", "b", "a"]:
        listed.append(sha)
        walk.add(sha, dag[sha])
        if walk.done:
            break
    assert listed == ["d", "c"] and walk.in_range() == ["d", "c"]


def test_a_commit_listed_before_its_uninteresting_child_is_left_out() -> None:
    # Clock skew: `x` (an ancestor of the base through `y`) is listed before `y`.
    dag = {"r": (), "x": ("r",), "y": ("x",), "base": ("y",), "m": ("base", "x")}
    walk = HistoryWalk(base="base")
    for sha in ["m", "x", "base", "y", "r"]:
        walk.add(sha, dag[sha])
    assert walk.in_range() == ["m"]


@given(dags())
def test_a_base_outside_the_history_is_never_done(graph: tuple[Dag, list[str]]) -> None:
    dag, order = graph
    walk = walk_until_done(HistoryWalk(base="rewritten"), dag, order)
    assert not walk.done and not walk.seen_base
    assert walk.in_range() == order


@given(dags(), st.data())
def test_a_base_beside_the_head_is_left_out_through_its_own_history(
    graph: tuple[Dag, list[str]], data: st.DataObject
) -> None:
    dag, order = graph
    base = data.draw(st.sampled_from(sorted(dag)))  # any commit: an ancestor of the head or not
    theirs = sorted(_ancestors(dag, base), key=lambda s: -int(s[1:]))  # newest first
    walk = HistoryWalk(base=base)
    # Both histories, each in its own order, interleaved as the pages come.
    heads, bases = list(order), list(theirs)
    while heads or bases:
        if bases and (not heads or data.draw(st.booleans())):
            sha = bases.pop(0)
            walk.exclude(sha, dag[sha])
        else:
            sha = heads.pop(0)
            walk.add(sha, dag[sha])
    assert set(walk.in_range()) == _ancestors(dag, order[0]) - _ancestors(dag, base)
