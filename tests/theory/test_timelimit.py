"""CPU-time budgets on symbolic work: in the main thread (SIGPROF) and in any other thread (the watchdog)."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sympy as sp

from dyncheck.theory.timelimit import SymbolicTimeout, run_bounded, time_limit


def _endless_sympy():
    x = sp.Symbol("x")
    while True:
        sp.integrate(sp.exp(-(x**2)) * sp.tanh(x) ** 3, (x, 0, 1))


def _limited(seconds):
    """(what happened, whether the limit was enforced, CPU seconds the thread spent in the block)."""
    start = time.thread_time()
    try:
        with time_limit(seconds) as enforced:
            _endless_sympy()
    except SymbolicTimeout:
        outcome = "timeout"
    spent = time.thread_time() - start
    total = sum(range(200_000))  # after the block no stray expiry arrives
    return outcome, enforced, spent, total


# An expiry may land in a callback that swallows exceptions (a garbage-collector callback); Python reports it
# as unraisable, and the watchdog raises again REPEAT_S later, which the assertions below rely on.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("seconds", [0.2, 0.5])
def test_a_budget_holds_in_worker_threads(seconds):
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(_limited, [seconds, seconds]))
    for outcome, enforced, spent, total in results:
        assert outcome == "timeout" and enforced
        assert seconds <= spent < seconds + 1.0  # the thread's own CPU time: the neighbour's does not count
        assert total == sum(range(200_000))


def test_a_budget_holds_in_the_main_thread():
    outcome, enforced, spent, _ = _limited(0.2)
    assert outcome == "timeout" and enforced and spent < 1.5


def test_nested_budgets_in_a_thread_keep_the_tighter_one():
    def nested():
        start = time.thread_time()
        with time_limit(5.0):
            with pytest.raises(SymbolicTimeout):
                with time_limit(0.2):
                    _endless_sympy()
            inner = time.thread_time() - start
            total = sum(range(200_000))  # inside the outer budget, after the inner one: no stray expiry
        return inner, total

    result = []
    thread = threading.Thread(target=lambda: result.append(nested()))
    thread.start()
    thread.join()
    assert result and result[0][0] < 1.5 and result[0][1] == sum(range(200_000))


def test_work_within_its_budget_is_untouched_in_a_thread():
    def quick():
        with time_limit(10.0) as enforced:
            return enforced, sp.integrate(sp.Symbol("x") ** 2, (sp.Symbol("x"), 0, 1))

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(quick).result() == (True, sp.Rational(1, 3))


#: Armed by the test below: the next fork's parent-side handler sends this process SIGINT, as a Ctrl-C
#: that lands while the interpreter runs its at-fork handlers (where an exception is ignored).
_INTERRUPT_AT_FORK: list[bool] = []


def _interrupt_in_the_parent_after_fork():
    if _INTERRUPT_AT_FORK:
        _INTERRUPT_AT_FORK.clear()
        signal.raise_signal(signal.SIGINT)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_parent=_interrupt_in_the_parent_after_fork)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="run_bounded forks")
def test_an_interrupt_during_the_fork_of_a_bounded_run_is_raised_not_lost():
    assert threading.current_thread() is threading.main_thread()
    _INTERRUPT_AT_FORK.append(True)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_bounded(time.sleep, 30, cpu_seconds=5)
    assert time.monotonic() - start < 20  # the child was ended, not waited for
    assert not _INTERRUPT_AT_FORK


def test_an_expiry_lost_to_a_callback_is_not_reported_and_other_unraisables_are():
    """An expiry landing in a garbage collector's callback reaches sys.unraisablehook: inside a limit the hook drops
    it (the next expiry stops the block), and passes anything else on; outside, the hook is the caller's again."""
    import sys
    import types

    from dyncheck.theory.timelimit import SymbolicTimeout, time_limit

    seen = []
    previous = sys.unraisablehook
    sys.unraisablehook = seen.append
    try:
        with time_limit(60):
            sys.unraisablehook(types.SimpleNamespace(exc_value=SymbolicTimeout("lost"), exc_type=SymbolicTimeout))
            other = types.SimpleNamespace(exc_value=ValueError("kept"), exc_type=ValueError)
            sys.unraisablehook(other)
        assert seen == [other]
        assert sys.unraisablehook == seen.append
    finally:
        sys.unraisablehook = previous
