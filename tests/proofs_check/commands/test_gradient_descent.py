"""``dyncheck stability``: the JSON contract, and bad input as one line and exit 2 before any work."""

from __future__ import annotations

import json

import pytest

from dyncheck.proofs_check.cli import main


def test_stability_json_keys_and_the_largest_stable_step(capsys):
    assert main(["stability", "--optimizer", "heavy-ball", "--beta", "0.5", "--sharpness", "10", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"optimizer", "beta", "threshold", "eta_max", "latex", "proved"} <= set(out)
    assert out["optimizer"] == "heavy-ball" and out["beta"] == 0.5 and out["proved"] is True
    assert out["eta_max"] == pytest.approx(0.3, rel=1e-15)  # (2 + 2·0.5)/10
    assert main(["stability", "--optimizer", "adam", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["beta"] is None and out["eta_max"] is None and "1 - beta" in out["threshold"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--optimizer", "sgd"],
        ["--optimizer", "adam", "--beta", "1"],
        ["--optimizer", "adam", "--beta", "-0.1"],
        ["--optimizer", "adam", "--beta", "nan"],
        ["--optimizer", "gd", "--beta", "0.5"],
        ["--optimizer", "nesterov", "--sharpness", "3"],
        ["--optimizer", "gd", "--sharpness", "0"],
        ["--optimizer", "gd", "--sharpness", "inf"],
        [],
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, capsys):
    assert main(["stability", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("dyncheck: error:")


def test_train_eos_json_and_plot(tmp_path, capsys):
    pytest.importorskip("torch")
    assert main(["train", "eos", "--eta", "0.4", "--steps", "300", "--json", "--plot", str(tmp_path / "eos.png")]) == 0
    (run,) = json.loads(capsys.readouterr().out)["runs"]
    assert run["eta"] == 0.4 and run["two_over_eta"] == 5.0 and len(run["sharpness"]) == len(run["sharpness_steps"]) == 9
    assert (tmp_path / "eos.png").stat().st_size > 10_000
    assert main(["train", "eos", "--eta", "-1"]) == 2


def test_train_implicit_bias_least_squares_ends_at_the_projection_of_its_start(capsys):
    assert main(["train", "implicit-bias", "--problem", "least-squares", "--samples", "5", "--features", "12", "--steps", "3000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    limit, minimum_norm = out["distances"].values()
    assert limit[-1] < 1e-10 < 0.1 < minimum_norm[-1]


def test_train_implicit_bias_logistic_turns_to_the_max_margin_direction(capsys, tmp_path):
    assert main(["train", "implicit-bias", "--problem", "logistic", "--samples", "30", "--features", "2", "--steps", "2000", "--json", "--plot", str(tmp_path / "m.png")]) == 0
    out = json.loads(capsys.readouterr().out)
    svm, least = out["distances"].values()
    assert svm[-1] < least[-1] and svm[-1] < svm[0]
    settled = out["flow"]["angle_times_log_t"]
    assert abs(settled[-1] / settled[len(settled) // 2] - 1) < 0.1  # angle · log t settles: the 1/log t law
    assert (tmp_path / "m.png").stat().st_size > 10_000


@pytest.mark.parametrize("argv", [["--problem", "least-squares", "--samples", "20", "--features", "10"], ["--problem", "ridge"], ["--problem", "logistic", "--eta", "0"]])
def test_train_implicit_bias_bad_input(argv, capsys):
    assert main(["train", "implicit-bias", *argv]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
