"""One thread policy for every computation of dyncheck.

A process has a **budget** of threads: ``$DYNCHECK_THREADS`` when set, otherwise the cores it
may run on (its CPU affinity, which a container or ``taskset`` may restrict below
``os.cpu_count()``).  Everything that opens threads takes them from that budget:

* dyncheck's own thread pools (quadrature chunks, blocks of kernel matrices) use
  :func:`budget` threads;
* BLAS and OpenMP (through threadpoolctl) and torch's intra-op pool are limited to the
  budget by :func:`limit_threads`, which every command runs under;
* a command that starts ``n`` worker processes (``verify --jobs``, a sweep's local
  executor) gives each ``max(1, budget // n)`` threads (:func:`worker_environment`, read by
  BLAS when the worker loads it, and :func:`limit_threads` in the worker), so ``n`` workers
  never open ``n × cores`` threads.

Every block under :func:`limit_threads` also keeps freed memory for reuse (:func:`keep_freed_memory`): glibc
otherwise returns each large array's pages to the system when it is freed and takes fresh ones for the next,
and a fresh page costs a fault and its zeroing — on a virtual machine up to 70 ns per float64, several times
the cost of drawing a Gaussian into it (measured: ``dyncheck verify`` 134 s → 122 s, system time 19 s → 7 s).

On a machine shared with other jobs, the cores are not all yours: a BLAS or torch pool as
wide as the machine then waits on busy cores at every operation (a small-matrix workload
can run tens of times slower).  Set ``DYNCHECK_THREADS`` to the cores you may use
(``DYNCHECK_THREADS=1`` for one).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from dyncheck.theory.errors import UsageError

__all__ = [
    "THREAD_VARIABLES",
    "available_cores",
    "budget",
    "environment",
    "keep_freed_memory",
    "limit_threads",
    "on_every_core",
    "worker_environment",
]

#: Environment variables through which BLAS and OpenMP runtimes read their thread counts at load time.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def available_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def budget() -> int:
    """Threads this process may use: ``$DYNCHECK_THREADS`` (a positive integer) or :func:`available_cores`."""
    chosen = os.environ.get("DYNCHECK_THREADS", "").strip()
    if not chosen:
        return available_cores()
    try:
        threads = int(chosen)
    except ValueError:
        threads = 0
    if threads < 1:
        raise UsageError(f"DYNCHECK_THREADS must be a positive integer, got {chosen!r}")
    return threads


def on_every_core(function, items) -> list:
    """``[function(item) for item in items]``, the items shared among :func:`budget` threads when there are
    several (numpy releases the GIL inside its array operations, so chunks of an array computation run on
    every core); a single item runs in the calling thread."""
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(len(items), budget())) as pool:
        return list(pool.map(function, items))


#: glibc's mallopt parameters: arrays below 1 GiB come from the heap (not their own mapping), and the heap is not
#: trimmed below 2 GiB of free memory.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_BELOW, _TRIM_ABOVE = 1 << 30, (1 << 31) - 1


@functools.cache
def keep_freed_memory() -> bool:
    """Let freed arrays' memory be reused by the next ones in this process (glibc's ``mallopt``: no mapping of its
    own for an array below 1 GiB, no trimming of the heap below 2 GiB free); True where it took effect, False on
    other C libraries, where nothing changes.  It changes how fast memory is had, never what is computed; the
    process keeps its largest footprint until it ends."""
    import ctypes
    import ctypes.util

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_BELOW)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_ABOVE))


@contextlib.contextmanager
def limit_threads(threads: int | None = None):
    """BLAS/OpenMP (threadpoolctl) and torch limited to ``threads`` (default :func:`budget`) inside the block.

    The thread variables are set for the block too, so a library loaded inside it (torch reads
    ``OMP_NUM_THREADS`` when it starts its pool) starts with the same limit.
    """
    from threadpoolctl import threadpool_limits

    threads = budget() if threads is None else threads
    keep_freed_memory()
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    try:
        with environment({name: str(threads) for name in ("DYNCHECK_THREADS", *THREAD_VARIABLES)}), threadpool_limits(limits=threads):
            if torch is not None:
                torch.set_num_threads(threads)
            yield threads
    finally:
        if before is not None:
            torch.set_num_threads(before)


@contextlib.contextmanager
def environment(values: dict[str, str]):
    """The process environment with ``values`` set inside the block (read by children and by libraries that load
    inside it), and restored after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def worker_environment(workers: int) -> dict[str, str]:
    """Environment for each of ``workers`` processes: ``budget() // workers`` threads each, at least 1."""
    share = str(max(1, budget() // max(1, workers)))
    return {"DYNCHECK_THREADS": share, **{name: share for name in THREAD_VARIABLES}}
