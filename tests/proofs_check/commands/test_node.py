"""`dyncheck node bound|train|flow` and `dyncheck dde`: JSON keys, plots, and bad input as one line with exit 2."""

from __future__ import annotations

import json
import math

import pytest

from dyncheck.proofs_check.cli import main


def test_node_bound_is_exact_for_a_polynomial(capsys, tmp_path):
    plot = tmp_path / "bound.png"
    assert main(["node", "bound", "--target", "x**2", "--domain", "-1", "1", "--plot", str(plot), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"target", "domain", "bound", "exact"} <= set(result)
    assert result["exact"] == "3*sqrt(5)/20" and math.isclose(result["bound"], 3 * math.sqrt(5) / 20, rel_tol=1e-15)
    assert result["pooled_blocks"] == [{"from": "-1", "to": "1/2", "level": "1/4", "from_value": -1.0, "to_value": 0.5, "level_value": 0.25}]
    assert plot.stat().st_size > 10_000


def test_node_bound_of_a_smooth_target_is_numeric_with_its_reason(capsys):
    assert main(["node", "bound", "--target", "sin(3*x)", "--domain", "-1", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["exact"] is None and "piecewise polynomial" in result["why_not_exact"] and 0.29 < result["bound"] < 0.2905


@pytest.mark.parametrize(
    "argv, message",
    [
        (["node", "bound", "--target", "x**2", "--domain", "1", "-1"], "A < B"),
        (["node", "bound", "--target", "x**2", "--domain", "1", "1"], "A < B"),
        (["node", "bound", "--target", "x*q", "--domain", "-1", "1"], "only x"),
        (["node", "bound", "--target", "__import__('os')", "--domain", "-1", "1"], "unknown function"),
        (["node", "bound", "--target", "1/x", "--domain", "-1", "1"], "square-integrable"),
        (["node", "bound", "--target", "x", "--domain", "-1", "nan"], "finite"),
        (["node", "flow", "--field", "y**2", "--horizon", "2"], "blow-up"),
        (["node", "flow", "--field", "x + y"], "only y"),
        (["dde", "--a", "1", "--tau", "0"], "positive"),
        (["dde", "--a", "1", "--tau", "-1"], "positive"),
        (["dde", "--a", "0", "--tau", "1"], "a"),
        (["dde", "--tau", "1"], "--gain"),
        (["dde", "--a", "1", "--tau", "1", "--history", "1/(t + 0.5)"], "not finite"),
        (["dde", "--a", "1", "--tau", "1", "--history", "x"], "only t"),
        (["dde", "--a", "1", "--tau", "1", "--history", "t/0"], "undefined"),
        (["dde", "--a", "1", "--tau", "1", "--history", "E(t, t)"], "expectation"),
        (["dde", "--a", "1", "--tau", "1", "--device", "cuda"], "backend torch"),
        (["dde", "--a", "1", "--tau", "1e-3", "--T-end", "1e5"], "steps"),
        (["dde", "--a", "1", "--tau", "1e-300"], "1e-9"),
        (["node", "bound", "--target", "x/0", "--domain", "0", "1"], "division by zero"),
        (["node", "bound", "--target", "E(x, x)", "--domain", "-1", "1"], "expectation"),
        (["node", "bound", "--target", "x", "--domain", "0", "1e-320"], "too narrow"),
        (["node", "bound", "--target", "x**30", "--domain", "-1e6", "1e6"], "overflows"),
        (["node", "bound", "--target", "tan(x*pi/2)", "--domain", "-1", "1"], "square-integrable"),
        (["node", "bound", "--target", "max(x, 1/x)", "--domain", "0", "1"], "square-integrable"),
        (["node", "flow", "--field", "tan(y)", "--domain", "-1", "1"], "singularity"),
        (["node", "flow", "--field=-1/y", "--domain", "1", "2", "--horizon", "0.6"], "singularity"),
        (["node", "flow", "--field", "Abs(y)**0.5"], "not finite"),
        (["node", "flow", "--field", "sqrt(y)"], "not finite"),
        (["node", "flow", "--field", "sign(y)"], "jumps"),
        (["node", "flow", "--field", "tan(y)"], "RK4 steps"),
        (["node", "train", "--target", "x**2", "--augment", "0", "--width", "4096", "--points", "1000000", "--iterations", "1"], "GiB"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err


def test_dde_reports_both_thresholds_and_the_sign_change(capsys, tmp_path):
    plot = tmp_path / "dde.svg"
    assert main(["dde", "--a", "0.5", "--tau", "1", "--T-end", "30", "--plot", str(plot), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"a", "tau", "sign_change", "sign_threshold", "stability_threshold"} <= set(result)
    assert result["sign_change"] is True and result["oscillates"] and result["asymptotically_stable"]
    assert math.isclose(result["sign_threshold"], math.exp(-1)) and math.isclose(result["stability_threshold"], math.pi / 2)
    assert result["x_T_end"] != 0 and result["reversing_gain"] > 0 and plot.exists()
    assert main(["dde", "--gain", "0.3", "--tau", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sign_change"] is False


def test_dde_on_torch_agrees_with_numpy(capsys):
    pytest.importorskip("torch")
    values = []
    for backend in ("numpy", "torch"):
        assert main(["dde", "--a", "0.9", "--tau", "2", "--history", "1 + t", "--backend", backend, "--json"]) == 0
        values.append(json.loads(capsys.readouterr().out)["x_T_end"])
    assert math.isclose(*values, rel_tol=1e-12)


def test_node_flow_is_increasing(capsys, tmp_path):
    plot = tmp_path / "flow.png"
    assert main(["node", "flow", "--field", "-y + 2*tanh(3*y)", "--horizon", "2", "--plot", str(plot), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["increasing"] and result["min_flow_derivative"] > 0 and plot.exists()


def test_node_train_reports_the_error_beside_the_bound(capsys):
    pytest.importorskip("torch")
    assert main(["node", "train", "--target", "x**2", "--augment", "0", "--iterations", "40", "--width", "8", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"error", "bound", "below_bound", "monotone", "grid_bound"} <= set(result)
    assert result["monotone"] and result["error"] >= result["grid_bound"] and not result["below_bound"]


def test_decimal_targets_tiny_and_wide_domains_and_negative_numbers(capsys):
    assert main(["node", "bound", "--target", "x**2 - 1e-12*x", "--domain", "0", "1e-12", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["exact"] is not None and math.isclose(result["bound"], 3 * math.sqrt(10) / 1.6e32, rel_tol=1e-12)
    assert main(["node", "bound", "--target", "x**2", "--domain", "-1e3", "1e3", "--json"]) == 0  # -1e3 is a number, not an option
    result = json.loads(capsys.readouterr().out)
    assert result["exact"] == "7500000*sqrt(2)"  # (3√5/20)·L^{5/2}: the bound scales with the domain
    assert main(["node", "bound", "--target", "erf(x)", "--domain", "-1", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["bound"] == 0  # erf is increasing
    assert main(["node", "bound", "--target", "x**64", "--domain", "0", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bound"] == 0 and result["pooled_blocks"] == [] and "degree 64" in result["why_not_exact"]


def test_dde_ends_at_the_asked_time_and_counts_the_history_s_sign(capsys):
    assert main(["dde", "--gain", "0.38", "--tau", "1", "--time", "0.3", "--steps-per-delay", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["T_end"] == 0.3 and math.isclose(result["x_T_end"], 1 - 0.38 * 0.3, rel_tol=1e-14)
    assert main(["dde", "--gain", "0.1", "--tau", "1", "--history=-t", "--json"]) == 0  # positive history, negative solution
    assert json.loads(capsys.readouterr().out)["sign_change"] is True
    assert main(["dde", "--gain", "0.1", "--tau", "1", "--history", "erf(t) + 2", "--json"]) == 0  # erf by the code generator
    assert json.loads(capsys.readouterr().out)["sign_change"] is False


def test_node_flow_reports_the_log_derivative_where_the_derivative_underflows(capsys):
    assert main(["node", "flow", "--field=-y", "--horizon", "1000", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert math.isclose(result["min_log_flow_derivative"], -1000, rel_tol=1e-12) and result["increasing"]
