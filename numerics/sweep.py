"""One sweep engine: a function over a grid of points × replicates, on local processes or on Dask.

A sweep runs ``function(point, seed)`` for every point of ``grid`` (a sequence of dicts of
parameters) and every replicate r < ``replicates``.  Each task (i, r) gets its own
:class:`numpy.random.SeedSequence`, child number i·replicates + r of ``SeedSequence(seed).spawn``:
independent streams by construction (not seeds made by arithmetic), the same for a task
whichever executor runs it, so the results are the same bit for bit.  ``function`` returns a
dict of numbers or arrays of fixed shapes; :class:`SweepResult` stacks them into arrays of shape
(points, replicates, …).

Executors:

* ``jobs=1``: in this process;
* local processes (the default for ``jobs`` > 1): spawned workers, each with its share of the
  thread budget (:mod:`dyncheck.numerics.threads`);
* Dask distributed (``scheduler`` = an address such as ``tcp://10.0.0.5:8786``, a
  ``distributed.Client``, or ``$DYNCHECK_SCHEDULER``): for sweeps that outgrow one machine.
  Dask reschedules the tasks of a worker that dies; each task runs with one BLAS thread
  (the worker's threads are its parallelism).  Install with ``pip install 'dyncheck[dask]'``.

With ``store`` (a folder), each finished task is written there at once, as ``.npz`` data (never
a pickle), beside a manifest of the sweep; an interrupted sweep started again with the same
``store`` runs only the tasks that are missing.  A store made by another sweep (another function,
grid, replicates or seed) is refused.  ``function`` may be a closure or a ``functools.partial``:
it travels to the workers by cloudpickle (as with Dask).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import signal
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dyncheck.numerics.threads import budget, environment, limit_threads, worker_environment
from dyncheck.theory.errors import UsageError

__all__ = ["CONNECT_TIMEOUT", "MANIFEST_FORMAT", "SweepResult", "check_scheduler_address", "dask_client", "grid_of", "sweep", "task_seeds"]

#: Format of a store's manifest; a store of another format is refused.
MANIFEST_FORMAT = "dyncheck-sweep-1"
#: Seconds a Dask scheduler has to answer before its address counts as unreachable.
CONNECT_TIMEOUT = "10s"
#: A scheduler address: scheme://host:port (tcp, tls, ws, wss, ucx) or host:port.
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx)://)?\[?[A-Za-z0-9_.:-]+\]?:\d{1,5}$")


def check_scheduler_address(address: str) -> str:
    """``address`` if it is one of a Dask scheduler (tcp://10.0.0.5:8786, host:8786), else bad input."""
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise UsageError(f"{address!r} is not a Dask scheduler address: write tcp://HOST:PORT")
    return address


@dataclass(frozen=True)
class SweepResult:
    """``values[name]`` has shape (points, replicates, *shape of the function's value ``name``)."""

    grid: tuple[dict, ...]
    replicates: int
    values: dict[str, np.ndarray]

    def mean_and_error(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Mean over replicates and its standard error, per point."""
        values = self.values[name]
        error = values.std(axis=1, ddof=1) / np.sqrt(self.replicates) if self.replicates > 1 else np.full(values.mean(axis=1).shape, np.nan)
        return values.mean(axis=1), error


def grid_of(**axes: Sequence) -> list[dict]:
    """The product grid of named axes, last axis fastest: ``grid_of(width=[64, 128], sw2=[1, 2])``."""
    import itertools

    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(axes[n] for n in names))]


def task_seeds(seed: int, points: int, replicates: int) -> list[np.random.SeedSequence]:
    """The seed of task (i, r) at index i·replicates + r: ``SeedSequence(seed).spawn(points · replicates)``."""
    return np.random.SeedSequence(seed).spawn(points * replicates)


def _identity(function: Callable, grid: Sequence[Mapping], replicates: int, seed: int) -> dict:
    """What makes a sweep this sweep: the function's name (and, for a ``functools.partial``, a digest of the
    arguments bound to it: the data of the experiment), the grid, the replicates and the seed."""
    import cloudpickle

    partial = isinstance(function, functools.partial)
    inner = function.func if partial else function
    name = f"{getattr(inner, '__module__', '?')}:{getattr(inner, '__qualname__', type(inner).__name__)}"
    digest = hashlib.sha256(cloudpickle.dumps((function.args, sorted(function.keywords.items())))).hexdigest() if partial else None
    return {"format": MANIFEST_FORMAT, "function": name, "digest": digest, "grid": [dict(p) for p in grid], "replicates": replicates, "seed": seed}


def _task_file(store: Path, i: int, r: int) -> Path:
    return store / f"task-{i:06d}-{r:05d}.npz"


def _open_store(store: Path, identity: dict) -> None:
    """Create the store, or check that it holds this very sweep."""
    store.mkdir(parents=True, exist_ok=True)
    manifest = store / "manifest.json"
    text = json.dumps(identity, sort_keys=True, default=str)
    if manifest.is_file():
        try:
            found = json.dumps(json.loads(manifest.read_text()), sort_keys=True, default=str)
        except (OSError, ValueError):
            raise UsageError(f"{manifest} is not a sweep's manifest; give an empty folder") from None
        if found != text:
            raise UsageError(f"{store} holds another sweep (function, grid, replicates or seed differ); give another folder")
    elif any(store.iterdir()):
        raise UsageError(f"{store} is not empty and holds no sweep; give an empty folder")
    else:
        manifest.write_text(text)


def _save(path: Path, value: Mapping) -> None:
    temporary = path.with_suffix(".partial.npz")
    np.savez(temporary, **{k: np.asarray(v) for k, v in value.items()})
    os.replace(temporary, path)


def _load(path: Path) -> dict | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError):
        return None  # a damaged file: the task runs again


def _run_pickled(payload: bytes, point: Mapping, seed: np.random.SeedSequence, threads: int) -> dict:
    """A local worker's task: the function arrives by cloudpickle (closures included)."""
    import cloudpickle

    return _run_task(cloudpickle.loads(payload), point, seed, threads)


def _run_task(function: Callable, point: Mapping, seed: np.random.SeedSequence, threads: int) -> dict:
    with limit_threads(threads):
        value = function(dict(point), seed)
    if not isinstance(value, Mapping):
        raise TypeError(f"a sweep's function returns a dict of numbers or arrays, not {type(value).__name__}")
    return {k: np.asarray(v) for k, v in value.items()}


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to their parent, which stops the sweep (finished tasks are kept in the store)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def sweep(
    function: Callable[[dict, np.random.SeedSequence], Mapping],
    grid: Sequence[Mapping],
    replicates: int = 1,
    *,
    seed: int = 0,
    jobs: int | None = None,
    scheduler=None,
    store: str | os.PathLike | None = None,
    progress: bool | Callable[[int, int], None] = True,
    description: str = "sweep",
) -> SweepResult:
    """Run ``function(point, seed)`` over ``grid`` × ``replicates`` (see the module docstring).

    ``progress``: a tqdm bar on standard error (True), none (False), or ``progress(done, total)``.
    """
    grid = [dict(p) for p in grid]
    if not grid or replicates < 1:
        raise UsageError("a sweep needs at least one point and one replicate")
    scheduler = scheduler if scheduler is not None else (os.environ.get("DYNCHECK_SCHEDULER") or None)
    seeds = task_seeds(seed, len(grid), replicates)
    identity = _identity(function, grid, replicates, seed)
    tasks = [(i, r) for i in range(len(grid)) for r in range(replicates)]
    results: dict[tuple[int, int], dict] = {}
    folder = Path(store) if store is not None else None
    if folder is not None:
        _open_store(folder, identity)
        for i, r in tasks:
            path = _task_file(folder, i, r)
            if path.is_file() and (value := _load(path)) is not None:
                results[(i, r)] = value
    todo = [t for t in tasks if t not in results]

    def finished(task, value):
        results[task] = value
        if folder is not None:
            _save(_task_file(folder, *task), value)
        report(len(results))

    with dask_client(scheduler) if scheduler is not None else contextlib.nullcontext() as client:  # reached before any work
        report = _progress(progress, len(tasks), description)
        report(len(results))
        try:
            if client is not None:
                token = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:12]
                _on_dask(client, function, grid, seeds, replicates, todo, token, finished)
            elif (jobs or budget()) == 1 or len(todo) <= 1:
                for i, r in todo:
                    finished((i, r), _run_task(function, grid[i], seeds[i * replicates + r], budget()))
            else:
                _on_processes(function, grid, seeds, replicates, todo, jobs or budget(), finished)
        finally:
            report(None)
    return _stack(grid, replicates, results, tasks)


def _progress(progress, total: int, description: str):
    if callable(progress):
        return lambda done: done is not None and progress(done, total)
    if not progress:
        return lambda done: None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=description, unit="task", file=sys.stderr)

    def report(done):
        if done is None:
            bar.close()
        else:
            bar.update(done - bar.n)

    return report


def _on_processes(function, grid, seeds, replicates, todo, jobs: int, finished) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    import cloudpickle

    jobs = max(1, min(jobs, len(todo)))
    shares = worker_environment(jobs)
    threads = int(shares["DYNCHECK_THREADS"])
    with environment(shares):  # read by BLAS as each spawned worker loads it
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_interrupts) as pool:
            payload = cloudpickle.dumps(function)
            pending = {pool.submit(_run_pickled, payload, grid[i], seeds[i * replicates + r], threads): (i, r) for i, r in todo}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        finished(pending.pop(future), future.result())
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise


@contextlib.contextmanager
def dask_client(scheduler):
    """A ``distributed.Client`` of ``scheduler`` (an address, or a Client, used as it is), closed after the block
    when made here; a malformed address, or one that does not answer within :data:`CONNECT_TIMEOUT`, is bad input."""
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("a Dask scheduler needs Dask: pip install 'dyncheck[dask]'") from None
    if isinstance(scheduler, Client):
        yield scheduler
        return
    check_scheduler_address(scheduler)
    try:
        client = Client(scheduler, set_as_default=False, timeout=CONNECT_TIMEOUT)
    except (OSError, ValueError, TypeError) as error:
        raise UsageError(f"cannot reach the Dask scheduler {scheduler!r}: {error}") from None
    try:
        yield client
    finally:
        client.close()


def _on_dask(client, function, grid, seeds, replicates, todo, token: str, finished) -> None:
    from distributed import as_completed

    futures = {
        client.submit(_run_task, function, grid[i], seeds[i * replicates + r], 1, key=f"dyncheck-sweep-{token}-{i}-{r}", pure=False): (i, r)
        for i, r in todo
    }
    try:
        for future in as_completed(futures):
            finished(futures[future], future.result())
    except BaseException:
        client.cancel(list(futures))
        raise


def _stack(grid, replicates: int, results: Mapping, tasks: Iterable) -> SweepResult:
    first = results[(0, 0)]
    values = {}
    for name, value in first.items():
        array = np.empty((len(grid), replicates, *np.shape(value)), dtype=np.asarray(value).dtype)
        for i, r in tasks:
            got = results[(i, r)]
            if name not in got or np.shape(got[name]) != np.shape(value):
                raise ValueError(f"task ({i}, {r}) returned {name!r} of another shape or not at all: a sweep's values have fixed shapes")
            array[i, r] = got[name]
        values[name] = array
    return SweepResult(tuple(grid), replicates, values)
