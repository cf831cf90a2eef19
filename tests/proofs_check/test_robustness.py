"""Interrupts, worker clean-up, answers under load, and a fuzz of the command line's options."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dyncheck.proofs_check.cli import main

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


def _dyncheck(*args, **kwargs):
    env = {**os.environ, "DYNCHECK_CACHE_DIR": "off", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "dyncheck.proofs_check.cli", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _gone(pids: set[int], within: float = 20.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = set()
        for pid in pids:
            try:
                os.kill(pid, 0)
                if "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]:
                    continue  # a zombie has ended
                alive.add(pid)
            except (ProcessLookupError, FileNotFoundError):
                pass
        if not alive:
            return True
        time.sleep(0.2)
    return False


def _wait_for_workers(process, count: int = 2, within: float = 60.0) -> set[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        children = _children(process.pid)
        if len(children) >= count:
            return children
        time.sleep(0.2)
    return _children(process.pid)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
@pytest.mark.parametrize("signals", [(signal.SIGINT,), (signal.SIGINT, signal.SIGINT), (signal.SIGTERM,)])
def test_an_interrupted_verify_reports_what_it_judged_says_it_is_incomplete_and_ends_its_workers(tmp_path, signals):
    process = _dyncheck("verify", "--only", "[gk]*", "--jobs", "2", "--report", str(tmp_path), "--json")
    workers = _wait_for_workers(process)
    assert workers, "the workers never started"
    time.sleep(6)  # let them judge a few claims
    for sig in signals:
        process.send_signal(sig)
        time.sleep(0.05)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert [line for line in err.strip().splitlines() if line] == [err.strip().splitlines()[-1]] and "interrupted" in err
    assert "Traceback" not in err
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["complete"] is False and report["passed"] is False
    assert json.loads(out)["complete"] is False
    assert "Incomplete" in (tmp_path / "report.md").read_text()
    assert _gone(workers)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_end_with_their_parent_even_when_it_is_killed():
    process = _dyncheck("verify", "--only", "[gk]*", "--jobs", "2")
    workers = _wait_for_workers(process)
    assert workers
    process.kill()
    process.communicate(timeout=60)
    assert _gone(workers)


def test_ctrl_c_during_check_is_one_line_and_exit_130():
    process = _dyncheck("check", "E(tanh(sqrt(q)*z)**2, z)", "1 - E(1/cosh(sqrt(q)*z)**2, z)", "--assume", "q > 0")
    time.sleep(4)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err.strip() == "dyncheck: interrupted", err


def _busy():
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def test_derivations_and_verdicts_are_the_same_on_a_busy_machine():
    from dyncheck.proofs_check.identity import check_identity
    from dyncheck.theory.activations import activation
    from dyncheck.theory.meanfield import MeanField

    def derive():
        theory = MeanField(activation("erf").expr(), "erf")
        derivations = (theory.second_moment, theory.slope_moment, theory.curvature_moment, theory.kernel, theory.slope_kernel)
        rules = [(d.rule, d.steps[-1]) for d in derivations]
        verdict = check_identity("E(erf(sqrt(q)*z)**2, z)", "2/pi*asin(2*q/(1+2*q))", ["q > 0"]).verdict
        return rules, str(theory.critical_line().sigma_b2), verdict

    # loaded first, while SymPy's own caches are cold: the slowest case for a budget
    load = [_busy() for _ in range(2 * (os.cpu_count() or 1))]
    try:
        busy = derive()
    finally:
        for p in load:
            p.kill()
            p.wait()
    quiet = derive()
    assert busy == quiet
    assert all(rule is not None for rule, _ in quiet[0]) and quiet[2] == "proved", quiet


# --- fuzz of the options: a result, a verdict, or exit 2 with one line; never a traceback ---

_HOSTILE = ["nan", "inf", "-inf", "-1", "0", "1e308", "1e-320", "abc", "", "10**8", "2", "0.5", "-0", "1e6"]
_COMMANDS = [
    (["kuramoto", "--density", "lorentzian"], ["--gamma", "--coupling", "--edge-probability", "--range"]),
    (["meanfield", "--phi", "relu"], ["--sw2", "--sb2"]),
    (["boundary", "--phi", "erf"], ["--sb2"]),
    (["check", "q", "q"], ["--points", "--seed", "--assume"]),
    (["ntk-depth", "--phi", "relu", "--sw2", "1.5"], ["--sb2", "--depth", "--cosine"]),
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(_COMMANDS), st.data())
def test_fuzzed_options_give_a_result_or_one_line(capsys, command, data):
    base, options = command
    argv = list(base)
    for option in data.draw(st.lists(st.sampled_from(options), min_size=1, max_size=3, unique=True)):
        argv += [f"{option}={data.draw(st.sampled_from(_HOSTILE))}"]
    if base[0] == "kuramoto" and not any(a.startswith("--coupling") for a in argv):
        argv.append("--K=1")
    if base[0] == "meanfield" and not any(a.startswith("--sw2") for a in argv):
        argv.append("--sw2=1")
    if base[0] == "meanfield" and not any(a.startswith("--sb2") for a in argv):
        argv.append("--sb2=0.1")
    code = main(argv)
    err = capsys.readouterr().err
    assert code in (0, 1, 2, 3), (argv, code)
    if code == 2:
        assert err.startswith("dyncheck: error:") and err.strip().count("\n") == 0, (argv, err)
