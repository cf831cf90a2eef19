"""Gradient descent on finite networks and their linearization (numerics.training)."""

import numpy as np
import pytest

from dyncheck.numerics.networks import Network, autograd_gradient
from dyncheck.numerics.training import autograd_ntk_velocity, ntk_velocity, sphere_data, train
from dyncheck.theory.activations import activation

ERF = activation("erf").expr()


def _data():
    x = sphere_data(5, 3, seed=2)
    return x, np.cos(x[:, 1])


@pytest.mark.parametrize("parameterisation", ["ntk", "mean-field"])
def test_gradient_is_the_central_difference_of_the_output(parameterisation):
    """Independent of torch: ∂(Σ c_i f(x_i))/∂W[layer][j, k] by a central difference."""
    x, _ = _data()
    network = Network.random(ERF, 3, 7, 2, 1.5, 0.2, seed=3, parameterisation=parameterisation)
    c = np.linspace(-1, 1, x.shape[0])
    grad_w, grad_b = network.gradient(x, c)
    h = 1e-6
    for layer, (j, k) in [(0, (2, 1)), (1, (4, 6)), (2, (0, 3))]:
        plus, minus = network.copy(), network.copy()
        plus.weights[layer][j, k] += h
        minus.weights[layer][j, k] -= h
        difference = (c @ plus(x) - c @ minus(x)) / (2 * h)
        assert grad_w[layer][j, k] == pytest.approx(difference, rel=1e-7, abs=1e-10)
    plus, minus = network.copy(), network.copy()
    plus.biases[1][2] += h
    minus.biases[1][2] -= h
    assert grad_b[1][2] == pytest.approx((c @ plus(x) - c @ minus(x)) / (2 * h), rel=1e-7, abs=1e-10)


def test_gradient_is_torch_autograd():
    pytest.importorskip("torch")
    x, y = _data()
    network = Network.random(ERF, 3, 16, 2, 2.0, 0.1, seed=4)
    mine, theirs = network.gradient(x, y), autograd_gradient(network, x, y)
    for a, b in zip(mine[0] + mine[1], theirs[0] + theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_mean_field_ntk_is_the_ntk_networks_divided_by_width():
    x, _ = _data()
    ntk = Network.random(ERF, 3, 64, 1, 2.0, 0.1, seed=5)
    mean_field = Network(ntk.weights, ntk.biases, ERF, 2.0, 0.1, "mean-field")
    np.testing.assert_allclose(mean_field.ntk(x), ntk.ntk(x) / 64, rtol=1e-13)
    np.testing.assert_allclose(mean_field(x), (ntk(x)) / 8, rtol=1e-13)


def test_linearization_gap_of_one_step_is_second_order_in_the_step():
    """f_1 − f^lin_1 = ½ Δθᵀ H Δθ + …, with Δθ ∝ lr: halving lr divides the gap by 4; the linear model's first
    step is the network's to first order."""
    x, y = _data()
    network = Network.random(ERF, 3, 32, 1, 2.0, 0.1, seed=6)
    gaps = [train(network, x, y, lr, 1).linearization_gap for lr in (1e-2, 5e-3)]
    assert gaps[0] / gaps[1] == pytest.approx(4, rel=0.02)


def test_training_decreases_the_loss_and_sgd_with_full_batches_is_gd():
    x, y = _data()
    network = Network.random(ERF, 3, 256, 1, 2.0, 0.1, seed=7)
    lr = 1 / np.linalg.eigvalsh(network.ntk(x))[-1]
    gd = train(network, x, y, lr, 40, centred=True)
    sgd = train(network, x, y, lr, 40, centred=True, batch_size=x.shape[0])
    assert gd.outputs[0] == pytest.approx(0, abs=1e-14)
    assert gd.losses[-1] < 1e-2 * gd.losses[0]
    np.testing.assert_allclose(gd.outputs, sgd.outputs, rtol=0, atol=1e-12)
    assert gd.linear_losses[-1] < 1e-2 * gd.linear_losses[0]


def test_ntk_velocity_by_differences_is_the_jvp():
    pytest.importorskip("torch")
    x, y = _data()
    for parameterisation in ("ntk", "mean-field"):
        network = Network.random(ERF, 3, 128, 1, 2.0, 0.1, seed=8, parameterisation=parameterisation)
        # the central difference's O(step²) error: measured ≤ 1.1e-6 relative at the default step
        assert ntk_velocity(network, x, y, 0.3) == pytest.approx(autograd_ntk_velocity(network, x, y, 0.3), rel=1e-5)


def test_unknown_parameterisation_is_refused():
    with pytest.raises(ValueError, match="parameterisation"):
        Network.random(ERF, 3, 4, 1, 1.0, 0.0, parameterisation="lazy")


def test_train_linearized_cli(tmp_path, capsys):
    import json

    from dyncheck.proofs_check.cli import main

    plot = tmp_path / "gap.png"
    args = ["train", "linearized", "--phi", "erf", "--widths", "64", "256", "--replicates", "3", "--steps", "10"]
    assert main([*args, "--json", "--plot", str(plot)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["exponents"]) == {"ntk", "mean-field", "kernel"} and plot.stat().st_size > 0
    assert out["gap"]["ntk"]["256"] < out["gap"]["mean-field"]["256"]
    for bad in (["--replicates", "1"], ["--batch-size", "99"], ["--phi", "x*y"]):
        assert main([*args, *bad]) == 2


def test_train_linearized_is_a_sweep_on_any_executor_and_resumes(tmp_path, capsys):
    """The width sweep on one process, on two worker processes with a store, and again from the full store:
    the same numbers (seeds are spawned per task, whichever executor runs it)."""
    import json

    from dyncheck.proofs_check.cli import main

    args = ["train", "linearized", "--phi", "erf", "--widths", "32", "64", "--replicates", "2", "--steps", "5", "--parameterisation", "ntk", "--json"]
    outputs = []
    for extra in (["--jobs", "1"], ["--jobs", "2", "--store", str(tmp_path / "s")], ["--jobs", "2", "--store", str(tmp_path / "s")]):
        assert main([*args, *extra]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(list((tmp_path / "s").glob("task-*.npz"))) == 4
    assert main([*args, "--seed", "1", "--store", str(tmp_path / "s")]) == 2  # another sweep's store
