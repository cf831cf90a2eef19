"""Time limits for symbolic work that may not terminate.

SymPy's ``integrate`` and ``simplify`` can run for minutes on integrands they
cannot do.  Every such attempt in dyncheck runs inside :func:`time_limit`, and
the caller falls back to its next strategy when :class:`SymbolicTimeout` is
raised, saying so in the provenance.

The limit is a ``SIGALRM`` interval timer, so it interrupts pure-Python code
(all of SymPy) without a second process.  Once the deadline has passed the
timer keeps firing every :data:`REPEAT_S` until the block has left: SymPy
catches broad exceptions in places, and a timeout swallowed there must not
let the computation run on unbounded.  Signals are delivered to the main
thread only; in any other thread the block runs without a limit and
:func:`time_limit` yields ``False`` so that the caller can record that.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator

__all__ = ["SymbolicTimeout", "time_limit"]

#: Interval at which an expired limit raises again until the block has left.
REPEAT_S = 0.05


class SymbolicTimeout(TimeoutError):
    """A symbolic computation exceeded its time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[bool]:
    """Raise :class:`SymbolicTimeout` if the block runs longer than ``seconds``.

    Yields ``True`` when the limit is enforced, ``False`` when it cannot be
    (outside the main thread).  Nested limits keep the tighter outer deadline.
    """
    if seconds <= 0:
        raise SymbolicTimeout("no time left")
    if threading.current_thread() is not threading.main_thread():
        yield False
        return

    outer_remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer_remaining and outer_remaining < seconds:
        # An enclosing limit expires first: let it fire.
        yield True
        return

    def _expire(signum, frame):
        raise SymbolicTimeout(f"symbolic computation exceeded {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _expire)
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT_S)
    try:
        yield True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_remaining:
            # Re-arm the enclosing limit with what is left of it.
            elapsed = time.monotonic() - start
            signal.setitimer(signal.ITIMER_REAL, max(outer_remaining - elapsed, 1e-3), REPEAT_S)
