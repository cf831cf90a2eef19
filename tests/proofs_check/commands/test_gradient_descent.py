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
