"""dyncheck kernel and ntk-depth."""

import json

import numpy as np

from dyncheck.numerics.kernels import kernel_matrices
from dyncheck.proofs_check.cli import main
from dyncheck.theory.activations import activation
from dyncheck.theory.kernels import layer_maps


def test_kernel_cli_named_and_custom_activations(tmp_path, capsys):
    import json

    from dyncheck.proofs_check.cli import main

    x = np.random.default_rng(4).standard_normal((6, 3))
    np.save(tmp_path / "x.npy", x)
    common = ["--depth", "4", "--sw2", "1.5", "--sb2", "0.1", "--inputs", str(tmp_path / "x.npy")]
    assert main(["kernel", "--phi", "relu", *common, "--output", str(tmp_path / "relu.npz")]) == 0
    saved = np.load(tmp_path / "relu.npz")
    nngp, ntk = kernel_matrices(layer_maps(activation("relu").expr()), x, 4, 1.5, 0.1)
    assert np.array_equal(saved["nngp"], nngp) and np.array_equal(saved["ntk"], ntk)
    capsys.readouterr()
    assert main(["kernel", "--phi", "x**3", *common, "--output", str(tmp_path / "cube.npz"), "--kind", "ntk", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kinds"] == ["ntk"] and set(np.load(tmp_path / "cube.npz")) == {"ntk"}
    for bad in (["--phi", "x*y"], ["--phi", "relu", "--kind", "gram"]):
        assert main(["kernel", *common, "--output", str(tmp_path / "bad.npz"), *bad]) == 2
    assert main(["kernel", "--phi", "relu", *common[:-1], str(tmp_path / "missing.npy"), "--output", str(tmp_path / "bad.npz")]) == 2


def test_ntk_depth_cli(tmp_path, capsys):
    import json

    from dyncheck.proofs_check.cli import main

    plot = tmp_path / "depth.png"
    assert main(["ntk-depth", "--phi", "erf", "--sw2", "1.0", "3.0", "--depth", "20", "--plot", str(plot), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["phase"] for p in out["points"]] == ["ordered", "chaotic"] and len(out["points"][0]["ntk_diagonal"]) == 21
    assert plot.stat().st_size > 10_000
    assert main(["ntk-depth", "--phi", "erf", "--sw2", "1.0", "--depth", "20"]) == 0
    assert "ordered" in capsys.readouterr().out
    for bad in (["--phi", "x*y", "--sw2", "1"], ["--phi", "erf", "--sw2", "1", "--cosine", "1"], ["--phi", "erf", "--sw2", "-1"]):
        assert main(["ntk-depth", *bad]) == 2


def test_the_kernel_command_says_how_each_layer_map_is_evaluated(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.array([[1.0, 0.0], [0.6, 0.8]]))
    assert main(["kernel", "--phi", "tanh", "--depth", "2", "--sw2", "1.5", "--inputs", str(tmp_path / "x.npy"), "--output", str(tmp_path / "k.npz")]) == 0
    assert "by quadrature: no closed form was derived" in capsys.readouterr().out
    assert main(["kernel", "--phi", "relu", "--depth", "2", "--sw2", "2", "--inputs", str(tmp_path / "x.npy"), "--output", str(tmp_path / "k.npz"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["evaluated_by"]["nngp"].startswith("closed form (price)")


def test_sign_s_infinite_ntk_diagonal_is_said_and_the_almost_everywhere_convention_is_an_option(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 2.0]]))
    common = ["kernel", "--phi", "sign", "--depth", "2", "--sw2", "1.5", "--inputs", str(tmp_path / "x.npy"), "--output", str(tmp_path / "k.npz")]
    assert main(common) == 0
    assert "Θ(x, x) = +∞ on the diagonal, exactly" in capsys.readouterr().out
    ntk = np.load(tmp_path / "k.npz")["ntk"]
    assert np.all(np.isinf(np.diag(ntk))) and np.all(np.isfinite(ntk[~np.eye(3, dtype=bool)]))
    assert main([*common, "--derivative", "almost-everywhere", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ntk_diagonal_infinite"] is False and summary["layer_maps"]["ntk"] == "0"
    arrays = np.load(tmp_path / "k.npz")
    assert np.allclose(arrays["ntk"], arrays["nngp"], rtol=1e-14)  # Ṫ = 0: the NTK is the last layer's NNGP, as in neural-tangents


def test_ntk_depth_at_relu_s_marginal_point_agrees_with_meanfield(capsys):
    """At ReLU's (2, 0) every q is a fixed point (meanfield says so): ntk-depth puts the inputs at q = 1 and says
    why, and the NTK diagonal grows as q(L + 1), the edge of chaos's law."""
    assert main(["ntk-depth", "--phi", "relu", "--sw2", "2", "--sb2", "0", "--depth", "10", "--json"]) == 0
    (point,) = json.loads(capsys.readouterr().out)["points"]
    assert point["every_q_fixed"] and point["q_star"] == 1.0 and point["phase"] == "critical"
    assert np.allclose(point["ntk_diagonal"], np.arange(1, 12), rtol=1e-14, atol=0)
    assert main(["ntk-depth", "--phi", "relu", "--sw2", "2", "--sb2", "0", "--depth", "10"]) == 0
    assert "every q is a fixed point" in capsys.readouterr().out


def test_a_closed_form_too_long_to_read_is_named_and_left_to_the_json():
    import sympy as sp

    from dyncheck.proofs_check.commands.kernels import FORMULA_TEXT_LIMIT, _formula_text

    rho = sp.Symbol("rho")
    assert _formula_text(sp.asin(rho) / sp.pi, "nngp") == "asin(ρ)/π"
    long = sum(sp.asin(rho * k) / (k + 1) for k in range(1, 40))
    text = _formula_text(long, "ntk")
    assert len(text) < FORMULA_TEXT_LIMIT and f"{len(str(long).replace('rho', 'ρ'))} characters" in text and "layer_maps.ntk" in text
