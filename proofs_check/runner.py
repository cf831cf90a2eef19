"""Judging many claims: in this process, or in worker processes that take whole topics.

Claims of one topic share cached derivations and simulations (a formula and
its negative control are judged on the same draws, a topic's claims share its
compiled kernels), so the unit of work is a topic: each worker pulls the next
topic from a queue, judges its claims in catalogue order and sends each result
back as soon as it is ready.  Workers are spawned (not forked: the parent may
hold BLAS or torch threads), each with its share of the thread budget
(:mod:`dyncheck.numerics.threads`), so ``jobs`` workers never open more threads
than the budget allows.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import signal
import traceback
from collections.abc import Iterator

from dyncheck.numerics.sweep import dask_client
from dyncheck.numerics.threads import environment, limit_threads, worker_environment
from dyncheck.proofs_check.claim import PROFILES, Claim, ClaimResult, Profile, failed_result

__all__ = ["judge"]


def judge(claims: list[Claim], profile: Profile, jobs: int = 1, scheduler=None) -> Iterator[ClaimResult]:
    """Results of ``claims`` (in completion order; in catalogue order when ``jobs`` is 1).

    With ``scheduler`` (a Dask address or ``distributed.Client``) each topic is one task on that cluster."""
    topics: dict[str, list[str]] = {}
    for claim in claims:
        topics.setdefault(claim.id.split(".", 1)[0], []).append(claim.id)
    if scheduler is not None:
        yield from _on_dask(list(topics.values()), profile, scheduler)
        return
    jobs = max(1, min(jobs, len(topics)))
    if jobs == 1:
        for claim in claims:
            yield _run(claim, profile)
        return
    from dyncheck.proofs_check.claims import LONGEST_FIRST

    order = {topic: i for i, topic in enumerate(LONGEST_FIRST)}
    yield from _in_workers([topics[t] for t in sorted(topics, key=lambda t: order.get(t, -1))], profile, jobs)


def _in_workers(topics: list[list[str]], profile: Profile, jobs: int) -> Iterator[ClaimResult]:
    context = multiprocessing.get_context("spawn")
    tasks, results = context.Queue(), context.Queue()
    for ids in topics:
        tasks.put(ids)
    for _ in range(jobs):
        tasks.put(None)
    with environment(worker_environment(jobs)):  # inherited by the spawned workers
        workers = [context.Process(target=_work, args=(tasks, results, profile.name, os.getpid()), daemon=True) for _ in range(jobs)]
        for worker in workers:
            worker.start()
    try:
        remaining = sum(len(ids) for ids in topics)
        while remaining:
            try:
                claim_id, result, failure = results.get(timeout=5)
            except queue_module.Empty:
                if not any(worker.is_alive() for worker in workers):
                    raise RuntimeError("the verify workers stopped before judging every claim") from None
                continue
            if failure is not None:
                from dyncheck.proofs_check.claims import REGISTRY

                result = failed_result(REGISTRY[claim_id], failure)
            remaining -= 1
            yield result
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()


def _judge_topic(ids: list[str], profile_name: str) -> list[tuple[str, ClaimResult]]:
    """A Dask task: the claims of one topic, in catalogue order, with one BLAS thread (the worker's threads are its parallelism)."""
    from dyncheck.proofs_check.claims import REGISTRY

    with limit_threads(1):
        return [(claim_id, _run(REGISTRY[claim_id], PROFILES[profile_name])) for claim_id in ids]


def _on_dask(topics: list[list[str]], profile: Profile, scheduler) -> Iterator[ClaimResult]:
    with dask_client(scheduler) as client:
        from distributed import as_completed

        futures = [client.submit(_judge_topic, ids, profile.name, pure=False) for ids in topics]
        try:
            for future in as_completed(futures):
                for _, result in future.result():
                    yield result
        finally:
            client.cancel(futures)


def _run(claim: Claim, profile: Profile) -> ClaimResult:
    """The claim's result; a route that raises makes the claim fail with the error, and the run goes on."""
    try:
        return claim.run(profile)
    except Exception:  # noqa: BLE001 - reported as the claim's failure, with its traceback
        return failed_result(claim, traceback.format_exc())


def _end_with_parent() -> None:
    """Linux: the kernel sends this worker SIGTERM when its parent dies, however it dies."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _work(tasks, results, profile_name: str, parent: int) -> None:
    """A worker: judge the claims of each topic taken from ``tasks`` until it reads None.

    Ctrl-C reaches the whole process group; the worker ignores it and is ended by its parent,
    which reports what was judged.  If the parent dies (even by SIGKILL) the worker ends too:
    the kernel signals it (Linux), and while it waits for work it checks its parent each second.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent()
    if os.getppid() != parent:
        return
    profile = PROFILES[profile_name]
    with limit_threads():
        _judge_topics(tasks, results, profile, parent)


def _judge_topics(tasks, results, profile: Profile, parent: int) -> None:
    from dyncheck.proofs_check.claims import REGISTRY

    while True:
        try:
            ids = tasks.get(timeout=1.0)
        except queue_module.Empty:
            if os.getppid() != parent:
                return
            continue
        if ids is None:
            return
        for claim_id in ids:
            result = _run(REGISTRY[claim_id], profile)
            results.put((claim_id, result, None))
