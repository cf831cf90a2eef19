"""dyncheck meanfield, boundary, phase-diagram and simulate meanfield."""

from __future__ import annotations

import json


from dyncheck.proofs_check.cli import main


def test_cli_meanfield_json(capsys):
    assert main(["meanfield", "--phi", "erf", "--sw2", "1.5", "--sb2", "0.05", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"q_star", "chi_1", "chi_c", "c_star", "xi_q", "xi_c", "phase"}
    assert out["phase"] == "chaotic"


def test_cli_meanfield_custom_activation_and_errors(capsys):
    assert main(["meanfield", "--phi", "x/(1 + abs(x))", "--sw2", "1.2", "--sb2", "0.1"]) == 0
    assert main(["meanfield", "--phi", "relu", "--sw2", "2.5", "--sb2", "0.1"]) == 2
    assert "no fixed point" in capsys.readouterr().err
    assert main(["meanfield", "--phi", "__import__('os')", "--sw2", "1", "--sb2", "0"]) == 2


def test_cli_boundary(capsys):
    assert main(["boundary", "--phi", "erf", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["closed_form"] and "asin" in out["sigma_b2"]
    assert main(["boundary", "--phi", "relu", "--sb2", "0.1"]) == 2


def test_cli_phase_diagram_writes_a_figure(tmp_path):
    out = tmp_path / "erf.png"
    assert main(["phase-diagram", "--phi", "erf", "--grid", "32", "--plot", str(out)]) == 0
    assert out.stat().st_size > 10_000


def test_cli_simulate_writes_the_jacobian_spectra(tmp_path):
    out = tmp_path / "spectra.png"
    argv = ["simulate", "meanfield", "--phi", "tanh", "--sw2", "1.76", "--sb2", "0.05", "--width", "64", "--depth", "4"]
    assert main([*argv, "--replicates", "2", "--spectrum-plot", str(out)]) == 0
    assert out.stat().st_size > 10_000


def test_an_unknown_activation_name_is_said_so_with_the_names(capsys):
    assert main(["meanfield", "--phi", "foo", "--sw2", "1.5"]) == 2
    err = capsys.readouterr().err
    assert "unknown activation 'foo'" in err and "tanh" in err and err.count("\n") == 1
    assert main(["meanfield", "--phi", "foo*x", "--sw2", "1.5"]) == 2
    assert "depend on x only, not on foo" in capsys.readouterr().err


def test_simulate_meanfield_names_its_plots(tmp_path, capsys):
    plot = tmp_path / "traj.png"
    argv = ["simulate", "meanfield", "--phi", "tanh", "--sw2", "1.5", "--sb2", "0.05", "--width", "64", "--depth", "5", "--replicates", "2"]
    assert main([*argv, "--plot", str(plot)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote {plot}" and plot.exists()
    assert main([*argv, "--plot", str(plot), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plots"] == [str(plot)]


def test_meanfield_at_relu_s_marginal_point_says_every_q_is_fixed(capsys):
    assert main(["meanfield", "--phi", "relu", "--sw2", "2", "--sb2", "0"]) == 0
    out = capsys.readouterr().out
    assert "q_star: every q (the q-map is the identity" in out and "None" not in out
