"""dyncheck train msa."""

import pytest



def test_cli_train_msa_writes_json_and_a_plot(tmp_path, capsys):
    pytest.importorskip("torch")
    import json

    from dyncheck.proofs_check.cli import main

    out = tmp_path / "msa.png"
    argv = ["train", "msa", "--depth", "4", "--width", "3", "--iterations", "3", "--baseline-iterations", "20"]
    assert main([*argv, "--json", "--plot", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["runs"]) == {"E-MSA ρ=20", "MSA ρ=0", "GD", "Adam"}
    assert len(result["runs"]["E-MSA ρ=20"]["loss"]) == 4
    assert out.stat().st_size > 10_000
    assert main(["train", "msa", "--depth", "0"]) == 2


def test_cli_train_msa_on_digits(capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("torch")
    from dyncheck.proofs_check.cli import main

    argv = ["train", "msa", "--problem", "digits", "--depth", "2", "--iterations", "2", "--baseline-iterations", "5"]
    assert main(argv) == 0
    assert "accuracy" in capsys.readouterr().out
