"""The one thread policy: a budget from the environment or the affinity, shared by workers, applied to BLAS."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info

from dyncheck.numerics.threads import THREAD_VARIABLES, available_cores, budget, limit_threads, worker_environment
from dyncheck.theory.errors import UsageError


def test_the_budget_is_the_affinity_unless_the_environment_says(monkeypatch):
    monkeypatch.delenv("DYNCHECK_THREADS", raising=False)
    assert budget() == available_cores() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("DYNCHECK_THREADS", "3")
    assert budget() == 3
    for bad in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv("DYNCHECK_THREADS", bad)
        with pytest.raises(UsageError, match="DYNCHECK_THREADS"):
            budget()


def test_workers_share_the_budget(monkeypatch):
    monkeypatch.setenv("DYNCHECK_THREADS", "8")
    assert worker_environment(3) == {"DYNCHECK_THREADS": "2", **{name: "2" for name in THREAD_VARIABLES}}
    assert worker_environment(16)["OMP_NUM_THREADS"] == "1"  # never zero


def test_limit_threads_limits_blas_and_restores_everything(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = [pool["num_threads"] for pool in threadpool_info()]
    with limit_threads(1):
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
        assert os.environ["OMP_NUM_THREADS"] == "1"
    assert [pool["num_threads"] for pool in threadpool_info()] == before
    assert "OMP_NUM_THREADS" not in os.environ


def test_torch_started_inside_the_limit_takes_it():
    code = "from dyncheck.numerics.threads import limit_threads\nwith limit_threads(1):\n    import torch\n    print(torch.get_num_threads())"
    pytest.importorskip("torch")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ, "DYNCHECK_THREADS": "2"})
    assert out.stdout.strip() == "1"


def test_a_bad_budget_is_bad_input_in_one_line():
    out = subprocess.run(
        [sys.executable, "-m", "dyncheck.proofs_check.cli", "gauss", "z**2"], capture_output=True, text=True, env={**os.environ, "DYNCHECK_THREADS": "many"}
    )
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "DYNCHECK_THREADS" in out.stderr


def test_freed_memory_is_kept_for_reuse_under_glibc_and_results_do_not_change():
    import platform

    import numpy as np

    from dyncheck.numerics.threads import keep_freed_memory, limit_threads

    before = np.random.default_rng(3).standard_normal(1 << 20).sum()
    with limit_threads(1):
        assert keep_freed_memory() is (platform.libc_ver()[0] == "glibc")  # glibc's mallopt; nothing elsewhere
        after = np.random.default_rng(3).standard_normal(1 << 20).sum()
    assert before == after
