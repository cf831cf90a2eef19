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


def test_a_density_given_as_an_expression_gets_its_k_c_and_r_inf_derived(capsys):
    assert main(["kuramoto", "--density-expression", "1/(pi*cosh(omega))", "--coupling", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["K_c"] == pytest.approx(2.0, rel=1e-12) and 0 < result["r_inf"] < 1  # K_c = 2/(π g(0)), g(0) = 1/π
    assert main(["kuramoto", "--density-expression", "exp(-omega**2/2)/sqrt(2*pi)", "--coupling", "2.5", "--json"]) == 0
    expression = json.loads(capsys.readouterr().out)
    assert main(["kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "2.5", "--json"]) == 0
    named = json.loads(capsys.readouterr().out)
    assert expression["K_c"] == pytest.approx(named["K_c"], rel=1e-12) and expression["r_inf"] == pytest.approx(named["r_inf"], rel=1e-10)


@pytest.mark.parametrize(
    "density, message",
    [
        ("exp(-omega**2)", "integrates to 1.77245385"),
        ("exp(-(omega - 1)**2)/sqrt(pi)", "not symmetric"),
        ("2*omega**2*exp(-omega**2)/sqrt(pi)", "g(0) = 0"),
        ("(1 + 2*omega**2)*exp(-omega**2)/(2*sqrt(pi))", "not unimodal"),
        ("exp(-omega**2 - q)", "omega only"),
    ],
)
def test_densities_that_are_not_normalised_symmetric_or_unimodal_are_refused(density, message, capsys):
    with pytest.raises(SystemExit) as stop:
        raise SystemExit(main(["kuramoto", "--density-expression", density, "--coupling", "2"]))
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_kuramoto_on_a_graphon_gives_mu_max_exactly_and_by_nystrom(capsys):
    import math

    assert main(["kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "5", "--graphon", "x*y", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["mu_max_exact"] == "1/3" and abs(result["mu_max_nystrom"]["2048"] - 1 / 3) < 1e-7
    assert math.isclose(result["K_c"], 3 * math.sqrt(8 / math.pi), rel_tol=1e-12)  # σ√(8/π)/μ_max
    assert result["incoherent_state"].startswith("unstable") and 0.1 < result["r_inf"] < 0.3  # K = 1.04 K_c: r ∝ √(K − K_c) rises steeply
    for graphon, message in (("x*y**2", "symmetric"), ("2*x*y", "[0, 1]"), ("x*q", "x and y only"), ("x/0", "undefined"), ("E(x, x)", "expectation"), ("0", "no positive eigenvalue")):
        assert main(["kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "5", "--graphon", graphon]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err
    assert main(["kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "5", "--graphon", "x*y", "--graph", "ring", "--range", "0.1"]) == 2


def test_simulate_kuramoto_on_a_sparse_graphon_follows_the_graphon_s_theory(capsys):
    # p_n = n^{-1/2}: the rescaled sparse graph has the dense limit; ⟨r⟩ within 0.05 of r∞ at mean degree 32
    argv = ["simulate", "kuramoto", "--oscillators", "1000", "--density", "gaussian", "--sigma", "1", "--graphon", "1", "--sparse-exponent", "0.5", "--coupling", "2.5", "--time", "20", "--step", "0.2", "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert abs(result["r_mean"][0] - result["r_inf_theory"][0]) < 0.05 and result["r_inf_theory"][0] > 0.8
    assert abs(result["edges"] - 1000 * 999 / 2 * 1000**-0.5) < 5 * (1000 * 999 / 2 * 1000**-0.5) ** 0.5  # binomial count
    base = ["simulate", "kuramoto", "--oscillators", "100", "--coupling", "1", "--graphon", "x*y"]
    for extra, message in (
        (["--density", "gaussian", "--sigma", "1", "--sparse-exponent", "1.5"], "--sparse-exponent: 1.5 must be ≥ 0 and ≤ 1"),
        (["--density", "uniform", "--delta", "1"], "smooth densities"),
        (["--density", "gaussian", "--sigma", "1", "--graph", "ring", "--range", "0.1"], "takes the place of --graph"),
    ):
        with pytest.raises(SystemExit) as stop:
            raise SystemExit(main(base + extra))
        err = capsys.readouterr().err.strip()
        assert stop.value.code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert main(["simulate", "kuramoto", "--oscillators", "100", "--density", "gaussian", "--sigma", "1", "--sparse-exponent", "0.5", "--coupling", "1"]) == 2
    assert main(["kuramoto", "--density", "gaussian", "--sigma", "1", "--sparse-exponent", "0.5", "--coupling", "1"]) == 2
    assert main(["simulate", "kuramoto", "--oscillators", "100", "--density", "gaussian", "--sigma", "1", "--coupling", "1", "--time", "2", "--step", "5"]) == 2
    assert "at most half of --time" in capsys.readouterr().err


def test_the_density_is_printed_for_reading_and_kept_exact_in_json(capsys):
    import json

    from dyncheck.proofs_check.cli import main

    assert main(["kuramoto", "--density", "uniform", "--delta", "1", "--coupling", "1.5"]) == 0
    out = capsys.readouterr().out
    assert "density: 0.5 if |ω| <= 1; 0 otherwise" in out and "Piecewise" not in out
    assert main(["kuramoto", "--density-expression", "1/(pi*cosh(omega))", "--coupling", "3"]) == 0
    out = capsys.readouterr().out
    assert "density: 1/(π*cosh(ω))" in out and "None" not in out
    assert main(["kuramoto", "--density", "uniform", "--delta", "1", "--coupling", "1.5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["density"].startswith("Piecewise(")
