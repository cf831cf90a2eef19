"""`dyncheck sgd stability`: the three criteria side by side, JSON keys, the plot, and bad input as one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dyncheck.proofs_check.cli import main


def test_a_family_stable_for_sgd_alone(capsys):
    assert main(["sgd", "stability", "--eta", "1", "--curvatures", "1.05", "3.5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("gd_factor", "mean_square_factor", "lyapunov_exponent", "lyapunov_interval", "gd_stable", "mean_square_stable", "almost_surely_stable"):
        assert key in result
    assert result["gd_factor"] == pytest.approx(1.275) and result["mean_square_factor"] == pytest.approx(3.12625)
    assert result["lyapunov_exponent"] == pytest.approx(-1.5 * np.log(2)) and result["lyapunov_closed_form"] == "-3*log(2)/2"
    assert (result["gd_stable"], result["mean_square_stable"], result["almost_surely_stable"]) == (False, False, True)
    assert result["lyapunov_interval"] is None


def test_general_hessians_get_benettin_s_interval_and_a_plot(tmp_path, capsys):
    features = np.random.default_rng(3).standard_normal((4, 10))
    np.savez(tmp_path / "h.npz", hessians=np.einsum("ni,nj->nij", features, features))
    figure = tmp_path / "sgd.png"
    assert main(["sgd", "stability", "--eta", "0.15", "--hessians", str(tmp_path / "h.npz"), "--steps", "1000", "--replicates", "8", "--plot", str(figure), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    low, high = result["lyapunov_interval"]
    assert 0 < low < result["lyapunov_exponent"] < high
    assert (result["gd_stable"], result["almost_surely_stable"]) == (True, False)
    assert figure.stat().st_size > 10_000 and result["boundaries"]["gd"] > result["boundaries"]["almost_sure"]


def test_the_text_report_names_each_verdict(capsys):
    assert main(["sgd", "stability", "--eta", "1", "--curvatures", "0", "3"]) == 0
    out = capsys.readouterr().out
    assert "GD" in out and "→ stable" in out and "→ unstable" in out and "log(2)/2" in out


@pytest.fixture
def archives(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.eye(2)[None], b=np.eye(2)[None])
    np.savez(tmp_path / "asymmetric.npz", h=np.array([[[1.0, 2.0], [0.0, 1.0]]]))
    np.savez(tmp_path / "objects.npz", h=np.array([{"a": 1}], dtype=object))
    np.save(tmp_path / "bare.npy", np.ones((1, 2, 2)))
    (tmp_path / "junk.npz").write_text("junk")
    return tmp_path


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--eta", "0", "--curvatures", "1"], "must be > 0"),
        (["--eta", "nan", "--curvatures", "1"], "not a finite number"),
        (["--eta", "1", "--curvatures", "-1", "2"], "≥ 0"),
        (["--eta", "1", "--curvatures", "1,2", "3"], "same number of diagonal entries"),
        (["--eta", "1", "--curvatures", "1", "2", "--batch", "3"], "between 1 and the number of samples 2"),
        (["--eta", "1", "--curvatures", "0", "0"], "no normal direction"),
        (["--eta", "1", "--hessians", "{dir}/missing.npz"], "no file"),
        (["--eta", "1", "--hessians", "{dir}/two.npz"], "holds 2 arrays"),
        (["--eta", "1", "--hessians", "{dir}/asymmetric.npz"], "not symmetric"),
        (["--eta", "1", "--hessians", "{dir}/objects.npz"], "never loaded"),
        (["--eta", "1", "--hessians", "{dir}/bare.npy"], "bare .npy"),
        (["--eta", "1", "--hessians", "{dir}/junk.npz"], "never loaded"),
        (["--eta", "1"], "required"),
        (["--eta", "1e12", "--curvatures", "1e300", "2"], "overflows"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, archives, capsys):
    assert main(["sgd", "stability", *[a.format(dir=archives) for a in argv]]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_sme_reports_orders_one_and_two(tmp_path, capsys):
    figure = tmp_path / "sme.png"
    assert main(["sgd", "sme", "--etas", "0.04", "0.02", "0.01", "--plot", str(figure), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    orders = {name: values[-1] for name, values in result["observed_orders"].items()}
    assert all(abs(o - 1) < 0.1 for name, o in orders.items() if name.startswith("SME-1"))
    assert all(abs(o - 2) < 0.1 for name, o in orders.items() if name.startswith("SME-2"))
    assert figure.stat().st_size > 10_000


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--etas", "0.3", "0.1"], "whole number of steps"),
        (["--etas", "0.1"], "at least two different step sizes"),
        (["--curvature", "0"], "must be ≥ 1e-06"),
        (["--multiplicative", "-1"], "must be ≥ 0"),
        (["--horizon", "inf"], "not a finite number"),
        (["--curvature", "1000"], "take η < 1/a"),
    ],
)
def test_sme_bad_input(argv, message, capsys):
    assert main(["sgd", "sme", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_schedule_reports_the_switching_time_and_the_rivals(tmp_path, capsys):
    figure = tmp_path / "schedule.png"
    assert main(["sgd", "schedule", "--runs", "20000", "--plot", str(figure), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["switching_time"] == pytest.approx(0.5 * np.log(19))
    rows = result["schedules"]
    assert rows["optimal"]["sme_terminal"] == pytest.approx(result["terminal"], rel=1e-8)
    assert all(rows["optimal"]["sme_terminal"] <= row["sme_terminal"] for row in rows.values())
    assert figure.stat().st_size > 10_000


def test_schedule_from_below_the_switching_moment_decays_at_once(capsys):
    assert main(["sgd", "schedule", "--start", "0.1", "--runs", "1000", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["switching_time"] == pytest.approx(-9.0) and result["terminal"] == pytest.approx(0.005)


@pytest.mark.parametrize(
    "argv, message",
    [(["--eta", "0.3"], "whole number of steps"), (["--curvature", "1000"], "take η < 1/a"), (["--runs", "10000000", "--horizon", "1000"], "too long"), (["--noise", "0"], "must be > 0"), (["--pieces", "0"], "must lie in")],
)
def test_schedule_bad_input(argv, message, capsys):
    assert main(["sgd", "schedule", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_large_inputs_are_refused_or_answered_without_the_closed_form(tmp_path, capsys):
    features = np.random.default_rng(1).standard_normal((30, 40))
    np.savez(tmp_path / "normal30.npz", h=np.einsum("ni,nj->nij", features, features))
    assert main(["sgd", "stability", "--eta", "0.01", "--hessians", str(tmp_path / "normal30.npz")]) == 2
    assert "up to dimension 24" in capsys.readouterr().err
    np.savez(tmp_path / "wide.npz", h=np.zeros((3, 1100, 1100)))
    assert main(["sgd", "stability", "--eta", "0.5", "--hessians", str(tmp_path / "wide.npz")]) == 2
    assert "d ≤ 1024" in capsys.readouterr().err
    many = [str(v) for v in np.random.default_rng(0).uniform(0, 3, 500)]
    assert main(["sgd", "stability", "--eta", "0.5", "--curvatures", *many, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["lyapunov_closed_form"] is None and result["lyapunov_interval"] is None and result["almost_surely_stable"] is not None


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sgd", "schedule", "--start", "0"], "stays at the minimum"),
        (["sgd", "schedule", "--start", "1e-170"], "out of double precision's range"),
        (["sgd", "sme", "--etas", "5e-324", "1e-323"], "must be ≥ 1e-06"),
        (["sgd", "stability", "--eta", "1", "--curvatures", "1", "--plot", "figure.txt"], "png, pdf, svg"),
        (["sgd", "stability", "--eta", "0.5", "--hessians", "{dir}/empty.npz"], "n, d ≥ 1"),
        (["sgd", "stability", "--eta", "0.5", "--hessians", "{dir}/member.npz"], "not a .npy array"),
    ],
)
def test_hostile_inputs_found_by_a_review(argv, message, tmp_path, capsys):
    import zipfile

    np.savez(tmp_path / "empty.npz", h=np.zeros((3, 0, 0)))
    with zipfile.ZipFile(tmp_path / "member.npz", "w") as archive:
        archive.writestr("readme.txt", "not an array")
    assert main([a.format(dir=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_values_within_rounding_of_a_boundary_get_no_verdict(capsys):
    assert main(["sgd", "stability", "--eta", "1e-17", "--curvatures", "1", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["gd_stable"] is None and result["mean_square_stable"] is None and result["almost_surely_stable"] is None
    assert main(["sgd", "stability", "--eta", "1e-200", "--curvatures", "1", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lyapunov_closed_form"] is None
