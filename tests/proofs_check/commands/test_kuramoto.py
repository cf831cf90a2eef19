"""`dyncheck kuramoto --locking`: the finite-N full-locking threshold beside the continuum theory."""

from __future__ import annotations

import json
import math

import pytest

from dyncheck.proofs_check.cli import main


def test_the_finite_n_locking_threshold_tends_to_4_delta_over_pi_for_the_uniform_density(capsys):
    assert main(["kuramoto", "--density", "uniform", "--delta", "1", "--coupling", "1.3", "--locking", "10", "1000", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    small, large = result["locking"]
    assert small["K_L"] < large["K_L"] < 4 / math.pi  # quantile frequencies lock a little below the continuum's K_L = 4Δ/π
    assert large["K_L"] == pytest.approx(4 / math.pi, rel=1e-4) and large["locked_at_K"] is True


def test_gaussian_frequencies_need_more_coupling_to_lock_as_n_grows_and_bad_input_is_one_line(capsys):
    assert main(["kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "2", "--locking", "50", "5000"]) == 0
    out = capsys.readouterr().out
    thresholds = [float(line.split("K_L = ")[1].split()[0]) for line in out.splitlines() if "K_L = " in line]
    assert len(thresholds) == 2 and 2 < thresholds[0] < thresholds[1]  # the tails widen: K_L grows with N
    for arguments in (["--locking", "1"], ["--locking", "10", "--graph", "ring", "--range", "0.2"]):
        with pytest.raises(SystemExit) as stop:
            raise SystemExit(main(["kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "2", *arguments]))
        assert stop.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1
