"""Jinja2 for templates a repository supplies: sandboxed, immutable, and bounded in time and memory.

A repository template is untrusted: with a plain `Environment`,
`{{ cycler.__init__.__globals__.os.popen('id').read() }}` ran as root and `os.environ` was readable (#9).
The sandbox refuses private attributes and mutation; the limits here stop what it lets through but could
still hang or exhaust the runner: nested loops, `'x' * 10**10`, `10 ** 10 ** 9`, a string doubled until
memory runs out.
"""

from __future__ import annotations

import contextlib
import operator
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import jinja2
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

RENDER_SECONDS = 10.0
# Memory the rendering may take on top of what the run already holds.
MEMORY_ALLOWANCE = 512 * 1024 * 1024
MAX_TEMPLATE_CHARS = 100_000
# The longest string or list an operator in a template may build.
MAX_BUILT_LENGTH = 2_000_000
# `**` on integers: the largest result, in bits.
MAX_POWER_BITS = 4096


class TemplateLimitError(Exception):
    """A template went past one of the limits above."""


class _NoOtherTemplates(jinja2.BaseLoader):
    def get_source(self, environment: jinja2.Environment, template: str) -> Any:
        raise jinja2.TemplateNotFound(
            template, f"a template cannot include, import or extend another one ('{template}')"
        )


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(loader=_NoOtherTemplates(), **options)
        self.deadline = float("inf")
        self.seconds = RENDER_SECONDS

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitError(f"it took longer than {self.seconds:g} seconds")

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        __self.check_time()
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any | Undefined:
        self.check_time()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any | Undefined:
        self.check_time()
        return super().getitem(obj, argument)

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        self.check_time()
        if operator_ == "**" and isinstance(left, int) and isinstance(right, int):
            if right > 0 and abs(left) > 1 and abs(left).bit_length() * right > MAX_POWER_BITS:
                raise TemplateLimitError(f"{left} ** {right} is too large")
        elif operator_ == "*":
            _check_length(_repeated_length(left, right))
        elif operator_ == "+" and _sized(left) and _sized(right):
            _check_length(len(left) + len(right))
        return _OPERATORS[operator_](left, right)

    @contextlib.contextmanager
    def limits(self, seconds: float = RENDER_SECONDS) -> Iterator[None]:
        """Time and memory limits for everything rendered inside the block."""
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        try:
            with _alarm(seconds), _memory_cap(MEMORY_ALLOWANCE):
                yield
        finally:
            self.deadline = float("inf")


_OPERATORS = {"*": operator.mul, "**": operator.pow, "+": operator.add}


def _sized(value: Any) -> bool:
    return isinstance(value, str | list | tuple)


def _repeated_length(left: Any, right: Any) -> int:
    if _sized(left) and isinstance(right, int):
        return len(left) * right
    if _sized(right) and isinstance(left, int):
        return len(right) * left
    return 0


def _check_length(length: int) -> None:
    if length > MAX_BUILT_LENGTH:
        raise TemplateLimitError(f"it builds a value of {length:,} items (the limit is {MAX_BUILT_LENGTH:,})")


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt a template stuck in a loop that calls nothing the sandbox sees (the main thread only:
    Python delivers signals there). Elsewhere the sandbox's own checks of the deadline apply."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise TemplateLimitError(f"it took longer than {seconds:g} seconds")

    previous = signal.signal(signal.SIGALRM, expired)
    # Someone else's timer (a test runner's timeout) is put back with what was left of it.
    pending, started = signal.setitimer(signal.ITIMER_REAL, seconds)[0], time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if pending:
            signal.setitimer(signal.ITIMER_REAL, max(pending - (time.monotonic() - started), 0.001))


@contextlib.contextmanager
def _memory_cap(allowance: int) -> Iterator[None]:
    """Lower the address-space limit to what the process holds now plus `allowance`, so that a filter
    such as `center(10**10)` fails with MemoryError instead of taking the runner down."""
    try:
        import resource

        with open("/proc/self/statm", encoding="ascii") as statm:
            in_use = int(statm.read().split()[0]) * resource.getpagesize()
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        yield  # not Linux: the operator limits above still apply
        return
    cap = in_use + allowance
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft != resource.RLIM_INFINITY and soft <= cap:
        yield  # already tighter
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
