"""Budgets for symbolic work that may not terminate, counted in CPU time.

SymPy's ``integrate`` and ``simplify`` can run for minutes on integrands they
cannot do.  Every such attempt in dyncheck runs inside :func:`time_limit`, and
the caller falls back to its next strategy when :class:`SymbolicTimeout` is
raised, saying so in the provenance (an exhausted budget is never reported as
"no closed form", and never cached: :mod:`theory.cache`).

The budget is **CPU time of this process** (``ITIMER_PROF``: user + system,
all threads), not wall-clock time, so that a derivation that succeeds on a
quiet machine also succeeds on a busy one: competing processes slow the clock
on the wall, not the work done by this process.  Once the budget is spent the
timer keeps firing every :data:`REPEAT_S` of CPU time until the block has
left: SymPy catches broad exceptions in places, and a timeout swallowed there
must not let the computation run on unbounded.  Signals are delivered to the
main thread only, so in any other thread (a Dask worker's task, a thread pool) a watchdog
thread reads that thread's own CPU clock (``pthread_getcpuclockid``) every
:data:`WATCH_S` and, once the budget is spent, raises :class:`SymbolicTimeout` in
it asynchronously (``PyThreadState_SetAsyncExc``), again every :data:`REPEAT_S` until
the block has left.  An asynchronous exception is delivered between bytecodes, so
Python-level work (SymPy) stops; a long call into C code stops when it returns, and an
expiry that lands in a callback that swallows exceptions (a garbage-collector callback)
is lost to that callback, so the next one, REPEAT_S later, stops the block.  Where
neither mechanism exists, :func:`time_limit` yields ``False`` so that the caller can
record that the block ran without a limit.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator

__all__ = ["BudgetExceeded", "SymbolicTimeout", "run_bounded", "time_limit"]

#: CPU seconds between repeated expiries of a spent budget until the block has left.
REPEAT_S = 0.05
#: Wall seconds between the watchdog's readings of the CPU clocks of limited threads.
WATCH_S = 0.01

_TIMER, _SIGNAL = signal.ITIMER_PROF, signal.SIGPROF


class SymbolicTimeout(TimeoutError):
    """A symbolic computation spent its CPU-time budget."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[bool]:
    """Raise :class:`SymbolicTimeout` once the block has used ``seconds`` of CPU time.

    Yields ``True`` when the limit is enforced, ``False`` when it cannot be
    (outside the main thread).  Nested limits keep the tighter outer budget.
    """
    if seconds <= 0:
        raise SymbolicTimeout("no CPU time left")
    if threading.current_thread() is not threading.main_thread():
        if not _THREAD_LIMITS_WORK:
            yield False
            return
        with _expiries_not_reported(), _thread_limit(seconds):
            yield True
        return
    with _expiries_not_reported():
        yield from _main_thread_limit(seconds)


@contextlib.contextmanager
def _expiries_not_reported():
    """An expiry that lands in a callback which cannot raise (a garbage collector's, a ``__del__``) goes to
    ``sys.unraisablehook``; it is the limit's own signal, lost by design (the next one, REPEAT_S later, stops
    the block), so the hook drops it rather than report it — a reporting hook (pytest's imports modules)
    could itself be cut by the next expiry.  Any other unraisable exception goes to the hook as before."""
    previous = sys.unraisablehook

    def hook(unraisable):
        if not isinstance(unraisable.exc_value, SymbolicTimeout):
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        if sys.unraisablehook is hook:
            sys.unraisablehook = previous


def _main_thread_limit(seconds: float) -> Iterator[bool]:
    """The main thread's budget: SIGPROF from an ITIMER_PROF timer, re-armed for an enclosing budget after."""
    outer_remaining, _ = signal.getitimer(_TIMER)
    if outer_remaining and outer_remaining < seconds:
        # An enclosing budget runs out first: let it fire.
        yield True
        return

    def _expire(signum, frame):
        raise SymbolicTimeout(f"symbolic computation used its {seconds:g} s of CPU time")

    previous = signal.signal(_SIGNAL, _expire)
    start = time.process_time()
    signal.setitimer(_TIMER, seconds, REPEAT_S)
    try:
        yield True
    finally:
        # The timer may fire while this clean-up runs: retry until it is off and the handler is
        # restored, or a leaked timer would raise at random in later work.  SIGPROF's default
        # action ends the process, so a pending signal meets SIG_IGN rather than the default.
        restore = previous if previous not in (signal.SIG_DFL, None) else signal.SIG_IGN
        while True:
            try:
                signal.setitimer(_TIMER, 0)
                signal.signal(_SIGNAL, restore)
                break
            except SymbolicTimeout:
                continue
        if outer_remaining:
            # Re-arm the enclosing budget with what is left of it.
            used = time.process_time() - start
            signal.setitimer(_TIMER, max(outer_remaining - used, 1e-3), REPEAT_S)


class _ThreadBudgetSpent(SymbolicTimeout):
    """Raised asynchronously in a thread whose budget is spent (an asynchronous exception has no arguments)."""

    def __init__(self, *args):
        super().__init__(*(args or ("symbolic computation used its CPU-time budget",)))


_THREAD_LIMITS_WORK = hasattr(time, "pthread_getcpuclockid")
_WATCHED: dict[int, list] = {}  # thread ident -> [clock id, deadlines (CPU seconds of the thread), next expiry]
_WATCH_LOCK = threading.Lock()
_WATCHDOG: list[threading.Thread] = []


def _raise_in(ident: int, exception) -> None:
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exception) if exception else None)


def _watch() -> None:
    while True:
        time.sleep(WATCH_S)
        with _WATCH_LOCK:
            for ident, (clock, deadlines, expiry) in list(_WATCHED.items()):
                try:
                    used = time.clock_gettime(clock)
                except OSError:  # the thread is gone
                    del _WATCHED[ident]
                    continue
                if deadlines and used >= max(min(deadlines), expiry):
                    _WATCHED[ident][2] = used + REPEAT_S
                    _raise_in(ident, _ThreadBudgetSpent)


@contextlib.contextmanager
def _thread_limit(seconds: float):
    """The budget of a thread other than the main one: the watchdog, on the thread's own CPU clock."""
    ident = threading.get_ident()
    clock = time.pthread_getcpuclockid(ident)
    with _WATCH_LOCK:
        entry = _WATCHED.setdefault(ident, [clock, [], 0.0])
        entry[1].append(time.clock_gettime(clock) + seconds)
        if not _WATCHDOG:
            _WATCHDOG.append(threading.Thread(target=_watch, name="dyncheck-time-limit", daemon=True))
            _WATCHDOG[0].start()
    try:
        yield
    finally:
        # As in the main thread: an expiry may arrive while this runs; retry until this budget is
        # removed and no expiry is pending (the watchdog raises only for registered budgets).
        while True:
            try:
                with _WATCH_LOCK:
                    entry = _WATCHED.get(ident)
                    if entry is not None:
                        entry[1].pop()
                        if not entry[1]:
                            del _WATCHED[ident]
                _raise_in(ident, None)
                break
            except SymbolicTimeout:
                continue


class BudgetExceeded(RuntimeError):
    """A bounded computation was stopped by its CPU-time or memory budget (the message says which)."""


def _mapped_bytes() -> int | None:
    """Virtual memory this process maps now (Linux), or None where that cannot be read."""
    import os

    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def run_bounded(function, *args, cpu_seconds: float, memory_bytes: int | None = None):
    """``function(*args)`` in a forked child process that the kernel stops at ``cpu_seconds`` of CPU time.

    For numeric work that a signal cannot interrupt (one huge big-integer operation inside
    mpmath can run for minutes in C): ``RLIMIT_CPU`` ends the child whatever it is doing,
    and ``RLIMIT_AS`` bounds its memory to ``memory_bytes`` beyond what this process already maps.  The budget is CPU time, so the
    outcome does not depend on the machine's load.  Raises :class:`BudgetExceeded` when a
    budget ends the child; an exception inside ``function`` is raised again here.  Where
    ``fork`` is unavailable the call runs in this process under :func:`time_limit`.
    """
    import os
    import pickle
    import resource

    if not hasattr(os, "fork"):
        try:
            with time_limit(cpu_seconds):
                return function(*args)
        except SymbolicTimeout:
            raise BudgetExceeded(f"used its {cpu_seconds:g} s of CPU time") from None
    import signal

    read, write = os.pipe()
    # Interrupts wait until the fork is done: one that arrives while the interpreter runs its at-fork
    # handlers (logging's lock release, for one) is reported there as ignored, and lost.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        pid = os.fork()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    if pid == 0:  # the child: compute, send, leave without running the parent's clean-up
        status = 0
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            os.close(read)
            used = resource.getrusage(resource.RUSAGE_SELF)
            limit = int(used.ru_utime + used.ru_stime + cpu_seconds) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 1))
            if memory_bytes is not None:
                mapped = _mapped_bytes()
                if mapped is not None:
                    resource.setrlimit(resource.RLIMIT_AS, (mapped + memory_bytes, mapped + memory_bytes))
            try:
                payload = pickle.dumps(("ok", function(*args)))
            except MemoryError:
                payload = pickle.dumps(("budget", f"needed more than {memory_bytes / 2**30:.1f} GiB of memory"))
            except BaseException as error:  # noqa: BLE001 - sent to the parent, which raises it
                payload = pickle.dumps(("error", error))
            with os.fdopen(write, "wb") as stream:
                stream.write(payload)
        except BaseException:  # noqa: BLE001 - a child never returns into the parent's code
            status = 1
        finally:
            os._exit(status)
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a held interrupt is raised here, inside the guard
        os.close(write)
        with os.fdopen(read, "rb") as stream:
            data = stream.read()
        _, status = os.waitpid(pid, 0)
    except BaseException:  # an interrupt here must not leave the child computing on
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        raise
    if not data:
        if os.WIFSIGNALED(status):
            raise BudgetExceeded(f"stopped by signal {os.WTERMSIG(status)} after its {cpu_seconds:g} s of CPU time or its memory")
        raise BudgetExceeded("ended without a result")
    kind, value = pickle.loads(data)
    if kind == "ok":
        return value
    if kind == "budget":
        raise BudgetExceeded(value)
    raise value
