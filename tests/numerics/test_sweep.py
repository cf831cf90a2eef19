"""The sweep engine: seeds by SeedSequence.spawn, the same results on every executor (bit for bit),
resumption from its store, and a real Dask LocalCluster that loses a worker mid-sweep."""

from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
import pytest

from dyncheck.numerics.sweep import grid_of, sweep, task_seeds
from dyncheck.theory.errors import UsageError


def _draw(point, seed):
    """A random quantity of the point: a matrix product of draws, so that BLAS takes part."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((point["n"], point["n"])) * point["scale"]
    return {"trace": np.trace(a @ a.T) / point["n"], "first": a[0, :3].copy()}


def _slow_draw(point, seed):
    time.sleep(0.3)
    return _draw(point, seed)


GRID = grid_of(n=[8, 32], scale=[0.5, 2.0])


def test_seeds_are_spawned_children_in_task_order():
    seeds = task_seeds(7, 3, 2)
    assert [s.spawn_key for s in seeds] == [(k,) for k in range(6)]
    assert len({int(s.generate_state(1)[0]) for s in seeds}) == 6


def test_grid_and_values_have_their_shapes():
    result = sweep(_draw, GRID, 3, seed=1, jobs=1, progress=False)
    assert result.grid == tuple(GRID) and GRID[1] == {"n": 8, "scale": 2.0}
    assert result.values["trace"].shape == (4, 3) and result.values["first"].shape == (4, 3, 3)
    mean, error = result.mean_and_error("trace")
    assert np.allclose(mean, [2, 32, 8, 128], rtol=0.5) and np.all(error > 0)  # E trace(AAᵀ)/n = scale²·n, relative s.d. ≤ 0.1


def test_local_processes_give_the_same_results_bit_for_bit():
    serial = sweep(_draw, GRID, 3, seed=1, jobs=1, progress=False)
    parallel = sweep(_draw, GRID, 3, seed=1, jobs=2, progress=False)
    closure = sweep(lambda p, s: _draw(p, s), GRID, 3, seed=1, jobs=2, progress=False)  # closures travel too
    for name in serial.values:
        assert np.array_equal(serial.values[name], parallel.values[name])
        assert np.array_equal(serial.values[name], closure.values[name])
    other = sweep(_draw, GRID, 3, seed=2, jobs=1, progress=False)
    assert not np.array_equal(serial.values["trace"], other.values["trace"])  # negative control: the seed matters


class _Stop(Exception):
    """Stands for Ctrl-C (pytest keeps KeyboardInterrupt for itself)."""


def test_an_interrupted_sweep_resumes_from_its_store(tmp_path):
    calls, stopped = [], []

    def counted(point, seed):
        calls.append(point["n"])
        if len(calls) == 5 and not stopped:
            stopped.append(True)
            raise _Stop
        return _draw(point, seed)

    store = tmp_path / "store"
    with pytest.raises(_Stop):
        sweep(counted, GRID, 3, seed=1, jobs=1, store=store, progress=False)
    assert len(list(store.glob("task-*.npz"))) == 4
    calls.clear()
    resumed = sweep(counted, GRID, 3, seed=1, jobs=1, store=store, progress=False)
    assert len(calls) == 12 - 4
    whole = sweep(_draw, GRID, 3, seed=1, jobs=1, progress=False)
    assert np.array_equal(resumed.values["trace"], whole.values["trace"])
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["replicates"] == 3 and manifest["seed"] == 1


def test_a_store_of_another_sweep_is_refused(tmp_path):
    sweep(_draw, GRID, 2, seed=1, jobs=1, store=tmp_path / "s", progress=False)
    with pytest.raises(UsageError, match="another sweep"):
        sweep(_draw, GRID, 2, seed=2, jobs=1, store=tmp_path / "s", progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        sweep(_draw, GRID, 2, jobs=1, store=tmp_path / "other", progress=False)


def test_a_damaged_result_file_is_computed_again(tmp_path):
    store = tmp_path / "s"
    first = sweep(_draw, GRID, 2, seed=3, jobs=1, store=store, progress=False)
    (store / "task-000001-00001.npz").write_bytes(b"not an npz")
    again = sweep(_draw, GRID, 2, seed=3, jobs=1, store=store, progress=False)
    assert np.array_equal(first.values["trace"], again.values["trace"])


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40) as local:
        with distributed.Client(local) as client:
            yield client


def test_dask_gives_the_local_results_bit_for_bit(cluster):
    assert len(cluster.scheduler_info()["workers"]) == 2
    local = sweep(_draw, GRID, 3, seed=1, jobs=1, progress=False)
    on_dask = sweep(_draw, GRID, 3, seed=1, scheduler=cluster, progress=False)
    for name in local.values:
        assert np.array_equal(local.values[name], on_dask.values[name])


def test_dask_by_address_and_from_the_environment(cluster, monkeypatch):
    address = cluster.scheduler.address
    by_address = sweep(_draw, GRID[:2], 2, seed=4, scheduler=address, progress=False)
    monkeypatch.setenv("DYNCHECK_SCHEDULER", address)
    from_environment = sweep(_draw, GRID[:2], 2, seed=4, progress=False)
    assert np.array_equal(by_address.values["trace"], from_environment.values["trace"])


def test_a_killed_worker_s_tasks_are_done_again(cluster):
    """One of the two worker processes is killed (SIGKILL) while the sweep runs; Dask reschedules its
    tasks and the results are those of the local executor."""
    pids = cluster.run(os.getpid)
    victim = sorted(pids.values())[0]
    killed = []

    def progress(done, total):
        if done >= 3 and not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(done)

    grid = grid_of(n=[8, 16, 24], scale=[1.0, 1.5])
    on_dask = sweep(_slow_draw, grid, 4, seed=5, scheduler=cluster, progress=progress)
    local = sweep(_draw, grid, 4, seed=5, jobs=1, progress=False)
    assert killed and killed[0] < 24
    assert np.array_equal(local.values["trace"], on_dask.values["trace"])
    assert victim not in cluster.run(os.getpid).values()  # the nanny started a new worker process


def test_a_time_limit_holds_inside_a_dask_worker(cluster):
    """Symbolic work in a Dask task (a worker thread) is bounded by its CPU-time budget."""

    def bounded(point, seed):
        import sympy as sp

        from dyncheck.theory.timelimit import SymbolicTimeout, time_limit

        x = sp.Symbol("x")
        start = time.thread_time()
        try:
            with time_limit(point["seconds"]) as enforced:
                while True:
                    sp.integrate(sp.exp(-(x**2)) * sp.tanh(x) ** 3, (x, 0, 1))
        except SymbolicTimeout:
            return {"stopped": 1, "enforced": int(enforced), "spent": time.thread_time() - start}

    result = sweep(bounded, [{"seconds": 0.3}], 2, scheduler=cluster, progress=False)
    assert np.all(result.values["stopped"] == 1) and np.all(result.values["enforced"] == 1)
    assert np.all(result.values["spent"] < 2.0)


def test_an_unreachable_scheduler_is_bad_input():
    pytest.importorskip("distributed")
    with pytest.raises(UsageError, match="cannot reach the Dask scheduler"):
        sweep(_draw, GRID[:1], 1, scheduler="tcp://127.0.0.1:1", progress=False)  # refused: within CONNECT_TIMEOUT


def test_verify_judges_topics_on_a_dask_cluster(cluster, capsys):
    """dyncheck verify --scheduler: one task a topic on the cluster, the same verdicts as in this process."""
    from dyncheck.proofs_check.cli import main

    only = ["verify", "--only", "kuramoto.critical_coupling*", "--json"]
    assert main([*only, "--jobs", "1"]) == 0
    local = json.loads(capsys.readouterr().out)
    assert main([*only, "--scheduler", cluster.scheduler.address]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert len(local["claims"]) >= 2

    def verdicts(report):
        return {c["id"]: (c["verdict"], c["negative_control"]["verdict"]) for c in report["claims"]}

    assert verdicts(local) == verdicts(remote) and remote["complete"] and remote["passed"]


def test_a_phase_diagram_on_a_dask_cluster(cluster, tmp_path):
    from dyncheck.numerics.meanfield import phase_diagram
    from dyncheck.proofs_check.cli import main
    from dyncheck.theory.activations import activation
    from dyncheck.theory.meanfield import mean_field

    theory = mean_field(activation("erf").expr(), "erf")
    sw2, sb2 = np.linspace(0.5, 3.0, 24), np.linspace(0.0, 0.3, 10)
    local = phase_diagram(theory, sw2, sb2, rows_per_task=8, jobs=1)  # one call: closed forms, no tables
    remote = phase_diagram(theory, sw2, sb2, rows_per_task=8, scheduler=cluster)
    assert np.array_equal(local.phase, remote.phase) and np.allclose(local.chi_1, remote.chi_1, rtol=1e-14, atol=0)
    assert main(["phase-diagram", "--phi", "erf", "--grid", "16", "--plot", str(tmp_path / "p.png"), "--scheduler", cluster.scheduler.address]) == 0


def test_simulated_networks_on_a_dask_cluster_are_the_local_processes_bit_for_bit(cluster, tmp_path):
    from dyncheck.numerics.meanfield import simulate_network
    from dyncheck.theory.activations import activation
    from dyncheck.theory.meanfield import mean_field

    theory = mean_field(activation("tanh").expr(), "tanh")
    options = dict(width=32, depth=4, q0=1.0, c0=0.5, seeds=3, seed=2)
    local = simulate_network(theory, 1.5, 0.05, jobs=2, **options)
    remote = simulate_network(theory, 1.5, 0.05, scheduler=cluster, store=tmp_path / "store", **options)
    for name in ("q", "c", "gradient"):
        assert np.array_equal(getattr(local, name), getattr(remote, name))
    assert len(list((tmp_path / "store").glob("task-*.npz"))) == 3


@pytest.mark.parametrize("address", ["nonsense", "tcp://", "http://host:8786", "tcp://host:port", "host 8786"])
def test_a_malformed_scheduler_address_is_bad_input_before_any_work(address, monkeypatch, capsys):
    from dyncheck.proofs_check.cli import main

    pytest.importorskip("distributed")
    called = []
    with pytest.raises(UsageError, match="not a Dask scheduler address"):
        sweep(lambda p, s: called.append(1) or {"x": 1.0}, GRID[:1], 1, scheduler=address, progress=False)
    monkeypatch.setenv("DYNCHECK_SCHEDULER", address)
    with pytest.raises(UsageError, match="not a Dask scheduler address"):
        sweep(lambda p, s: called.append(1) or {"x": 1.0}, GRID[:1], 1, progress=False)
    assert not called
    monkeypatch.delenv("DYNCHECK_SCHEDULER")
    assert main(["verify", "--only", "gaussian.erf_variance", "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a Dask scheduler address" in err


def test_populations_on_a_dask_cluster_are_the_local_processes_bit_for_bit(cluster):
    from dyncheck.numerics.kuramoto import simulate_populations

    options = dict(graph=None, seed=3, progress=False)
    local = simulate_populations("lorentzian", 48, 0.5, [0.5, 2.0], 2, 3.0, 0.05, jobs=2, **options)
    remote = simulate_populations("lorentzian", 48, 0.5, [0.5, 2.0], 2, 3.0, 0.05, scheduler=cluster, **options)
    assert np.array_equal(local.r, remote.r)
