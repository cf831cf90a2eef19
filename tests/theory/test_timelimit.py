"""CPU-time budgets on symbolic work: in the main thread (SIGPROF) and in any other thread (the watchdog)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sympy as sp

from dyncheck.theory.timelimit import SymbolicTimeout, time_limit


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
