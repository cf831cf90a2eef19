"""``dyncheck simulate two-layer``: SGD networks beside the PDE, and one-line refusals."""

from __future__ import annotations

import json

import pytest

from dyncheck.proofs_check.cli import main


def test_simulate_two_layer_tracks_the_pde_and_writes_its_figure(capsys, tmp_path):
    figure = tmp_path / "two_layer.png"
    assert main(["simulate", "two-layer", "--particles", "64", "--replicates", "4", "--time", "1", "--plot", str(figure), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert figure.stat().st_size > 10_000 and result["plot"] == str(figure)
    assert result["steps"] % 50 == 0 and abs(result["epsilon"] * result["steps"] - 1) < 1e-12
    assert result["pde_solver_error"] < 1e-4 and result["pde_risk"][-1] < 0.5 * result["pde_risk"][0]
    for mean, se, pde in zip(result["risk_mean"][1:], result["risk_standard_error"][1:], result["pde_risk"][1:]):
        assert abs(mean - pde) < 5 * se + 0.1 / 64  # fluctuations, and the O(1/N) bias
    assert main(["simulate", "two-layer", "--particles", "8", "--replicates", "1", "--time", "0.2", "--teacher", "1,2,0", "0.5,0,1"]) == 0
    assert "R(ρ_t) PDE" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--particles", "0"], "--particles"),
        (["--teacher", "a,b"], "a teacher neuron is c,w1"),
        (["--teacher", "1"], "a teacher neuron is c,w1"),
        (["--teacher", "1,2", "1,2,3"], "same number of weights"),
        (["--activation", "tanh(z)"], "no closed form"),
        (["--activation", "erf(q)"], "only z"),
        (["--activation", "__import__('os')"], "unknown function"),
        (["--nodes", "200", "--teacher", "1,1,1"], "at most 20000"),
        (["--teacher", ",".join(["1"] * 16)], "d ≤ 14"),
        (["--activation", "1"], "constant"),
        (["--activation", "exp(z)", "--particles", "8"], "diverged"),  # in words, not NaN
    ],
)
def test_simulate_two_layer_refuses_bad_input_in_one_line(capsys, extra, message):
    with pytest.raises(SystemExit) as stop:
        raise SystemExit(main(["simulate", "two-layer", "--time", "0.1"] + extra))
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and len(err.splitlines()) == 1 and message in err, err


def test_several_sizes_give_the_fluctuation_law_and_local_processes_the_same_networks(capsys, tmp_path):
    argv = ["simulate", "two-layer", "--particles", "8", "32", "--replicates", "6", "--time", "0.5", "--json"]
    assert main(argv) == 0
    batch = json.loads(capsys.readouterr().out)
    assert [row["N"] for row in batch["fluctuations"]] == [8, 32] and batch["N"] == 32
    assert batch["fluctuation_exponent"] < 0  # six networks a size: the sign, not the rate (the claim fits the rate)
    assert main([*argv, "--jobs", "2", "--store", str(tmp_path / "store")]) == 0
    spread = json.loads(capsys.readouterr().out)
    assert spread["risk_mean"] == pytest.approx(batch["risk_mean"], rel=1e-12, abs=1e-15)
    for one, other in zip(spread["fluctuations"], batch["fluctuations"]):
        assert one["N"] == other["N"] and one["risk_sd"] == pytest.approx(other["risk_sd"], rel=1e-10)
