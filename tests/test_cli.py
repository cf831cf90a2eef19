import json

import pytest

from proofs_check.cli import main


def test_check_exit_codes(capsys):
    assert main(["check", "E(relu(sqrt(q)*z)**2, z)", "q/2", "--assume", "q>0"]) == 0
    assert main(["check", "E(relu(sqrt(q)*z)**2, z)", "q/2 + 1e-8*q", "--assume", "q>0"]) == 1
    assert main(["check", "__import__('os')", "1"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "unknown function" in err


def test_check_json_keys(capsys):
    main(["check", "E(erf(sqrt(q)*z)**2, z)", "2/pi*asin(2*q/(1+2*q))", "--assume", "q>0", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert {"verdict", "lhs", "rhs", "reason", "derived_lhs", "derived_rhs", "assumptions", "points_checked",
            "max_relative_difference", "counterexample", "provenance"} <= set(out)


def test_gauss_json(capsys):
    assert main(["gauss", "relu(u)*relu(v)", "--bivariate", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rule"] == "price" and "asin" in out["closed_form"]


def test_gauss_none(capsys):
    assert main(["gauss", "sigmoid(sqrt(q)*z)**2"]) == 0
    assert "none" in capsys.readouterr().out


def test_verify_subset_writes_report(tmp_path, capsys):
    assert main(["verify", "--only", "gaussian.relu_variance", "--report", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] and data["claims"][0]["negative_control"]["verdict"] == "refuted"
    assert (tmp_path / "report.md").exists() and (tmp_path / "monte_carlo_rates.png").exists()


def test_verify_unknown_pattern():
    assert main(["verify", "--only", "nonexistent"]) == 2


def test_bad_arguments_exit_2():
    with pytest.raises(SystemExit) as info:
        main(["verify", "--profile", "huge"])
    assert info.value.code == 2
