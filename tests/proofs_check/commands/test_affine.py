"""`dyncheck affine`: the decomposition, fixed points, regions and stability; JSON keys, plots, and bad input as one line."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from dyncheck.proofs_check.cli import main

LAYERS = [
    {"weight": [[2.0, 0.4], [-0.6, 1.5], [1.2, -2.1], [0.3, 0.9], [-1.1, -0.8]], "bias": [0.5, -0.3, 0.8, -1.0, 0.2], "activation": "relu"},
    {"weight": [[1.1, -0.7, 0.4, 1.3, -0.5], [0.2, 1.4, -0.9, 0.6, 1.0]], "bias": [0.1, -0.2], "activation": None},
]


@pytest.fixture
def network(tmp_path):
    path = tmp_path / "network.json"
    path.write_text(json.dumps({"layers": LAYERS}))
    return path


def test_a_relu_map_s_fixed_points_regions_and_stability_as_json(network, capsys):
    assert main(["affine", str(network), "--fixed-points", "--regions", "--stability", "--at", "0.5", "-1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("fixed_points", "contraction_bound", "jsr_lower", "jsr_upper", "globally_stable", "witness", "regions", "decomposition"):
        assert key in result
    x = np.array([0.5, -1.0])
    decomposition = result["decomposition"]
    assert np.allclose(np.array(decomposition["A_star"]) @ x + decomposition["b_star"], decomposition["A_star"] @ x + np.array(decomposition["b_star"]))
    assert decomposition["reconstruction_error"] < 1e-14 and decomposition["A_star"] == decomposition["jacobian"]  # ReLU, inside a region
    for point in result["fixed_points"]:
        assert set(point) == {"x", "eigenvalues", "type", "stable"} and point["type"] in ("node", "focus", "saddle", "non-hyperbolic")
    assert result["regions"]["count"] == len(result["regions"]["list"]) > 1
    assert result["globally_stable"] in (True, False, None)


def test_the_counterexample_is_found_unstable_with_a_witness(capsys):
    assert main(["affine", "--counterexample", "--stability", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["globally_stable"] is False and len(result["witness"]["start"]) == 2 and result["jsr_lower"] > 1


def test_text_output_plots_and_a_random_network(tmp_path, capsys):
    assert main(["affine", "--random", "--activation", "tanh", "--width", "4", "--depth", "1", "--high", "2", "--init", "svd", "--low", "0.5", "--plot", str(tmp_path), "--box", "3"]) == 0
    out = capsys.readouterr().out
    assert "A*(x)" in out and "the Jacobian: not A*" in out and "fixed point" in out and "global stability:" in out
    assert "wrote" in out and (tmp_path / "spectrum.png").stat().st_size > 10_000 and (tmp_path / "phase_portrait.png").stat().st_size > 10_000
    assert main(["affine", "--random", "--activation", "relu", "--width", "4", "--depth", "1", "--compare", str(tmp_path / "grid.png"), "--json"]) == 0
    assert (tmp_path / "grid.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--random", "--activation", "foo"], "unknown activation"),
        (["--random", "--init", "svd", "--low", "2", "--high", "1"], "--low"),
        (["--random", "--init", "gershgorin", "--width", "3"], "square"),
        (["--random", "--dim", "2", "--at", "1"], "coordinates"),
        (["--random", "--width", "64", "--depth", "3", "--dim", "8", "--regions"], "linear programmes"),
        (["--counterexample", "--width", "3"], "--random networks only"),
        (["--random", "--width", "128", "--compare", "x.png"], "at most"),
        (["--random", "--activation", "tanh", "--regions"], "not piecewise linear"),
        (["--random", "--compare", "out.txt"], "a figure is written as"),
        (["--random", "--width", "0"], "width"),
        (["--random", "--counterexample"], "not allowed"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(arguments, message, capsys):
    with pytest.raises(SystemExit) as stop:
        code = main(["affine", *arguments])
        raise SystemExit(code)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_bad_files_are_one_line_and_exit_2(tmp_path, capsys):
    cases = {
        "chain.json": json.dumps({"layers": [{"weight": [[1.0, 2.0]]}, {"weight": [[1.0, 2.0]]}]}),
        "nan.json": '{"layers": [{"weight": [[NaN]]}]}',
        "notsquare.json": json.dumps({"layers": [{"weight": [[1.0, 2.0]], "activation": "relu"}]}),
        "nolayers.json": json.dumps({"weights": []}),
        "text.json": "not json",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"layers": LAYERS}))
    messages = {"chain.json": "do not chain", "nan.json": "not finite", "notsquare.json": "as many outputs as inputs", "nolayers.json": "layers", "text.json": "not JSON", "model.pkl": "pickle", "missing.json": "cannot read"}
    for name, message in messages.items():
        extra = ["--fixed-points"] if name == "notsquare.json" else []
        with pytest.raises(SystemExit) as stop:
            raise SystemExit(main(["affine", str(tmp_path / name), *extra]))
        err = capsys.readouterr().err
        assert stop.value.code == 2 and message in err and len(err.strip().splitlines()) == 1, (name, err)


def test_json_holds_no_nan_or_infinity_and_two_relu_layers_work(tmp_path, capsys):
    assert main(["affine", "--random", "--activation", "relu", "--depth", "2", "--width", "3", "--json"]) == 0
    text = capsys.readouterr().out
    assert "NaN" not in text and "Infinity" not in text
    result = json.loads(text)
    assert result["regions"]["count"] >= 1 and result["globally_stable"] in (True, False, None)
    monomial = tmp_path / "square.json"
    monomial.write_text(json.dumps({"layers": [{"weight": [[1e-4]], "activation": "monomial"}]}))
    assert main(["affine", str(monomial), "--stability", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["contraction_bound"] == "inf" and result["globally_stable"] is not True


def test_overflowing_networks_and_points_are_refused(tmp_path, capsys):
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({"layers": [{"weight": [[1e300, 0.0], [0.0, 1.0]], "activation": "relu"}, {"weight": [[1e300, 0.0], [0.0, 1.0]]}]}))
    small = tmp_path / "small.json"
    small.write_text(json.dumps({"layers": [{"weight": [[2.0]], "activation": None}]}))
    for arguments, message in (([str(huge)], "overflows"), ([str(small), "--at", "1e308"], "overflows")):
        with pytest.raises(SystemExit) as stop:
            raise SystemExit(main(["affine", *arguments]))
        err = capsys.readouterr().err
        assert stop.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
