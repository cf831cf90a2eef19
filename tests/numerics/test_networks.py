"""The network substrate: parameterisations as data, batches, residual layers, and every derivative checked
against torch.func (an independent implementation) or against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from dyncheck.numerics.networks import (
    PARAMETERISATIONS,
    DrawnWeights,
    Network,
    autograd_gradient,
    autograd_hvp,
    autograd_ntk,
    torch_function,
)
from dyncheck.theory.activations import activation

TANH, RELU = activation("tanh").expr(), activation("relu").expr()


def _inputs(n=5, d=4, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def test_standard_and_ntk_parameterisations_are_one_function():
    """The same draws, stored scaled (standard) or scaled in the forward pass (NTK): the same outputs."""
    ntk = Network.random(TANH, 4, 16, 3, 1.7, 0.2, seed=1, parameterisation="ntk")
    standard = Network(
        [w * np.sqrt(1.7 / w.shape[-1]) for w in ntk.weights], [b * np.sqrt(0.2) for b in ntk.biases], TANH, 1.7, 0.2, "standard"
    )
    x = _inputs()
    assert np.allclose(ntk(x), standard(x), rtol=1e-13, atol=1e-14)
    mean_field = Network(ntk.weights, ntk.biases, TANH, 1.7, 0.2, "mean-field")
    assert np.allclose(mean_field(x) * np.sqrt(16), ntk(x), rtol=1e-14, atol=1e-15)  # the read-out scaled by 1/√n
    assert set(PARAMETERISATIONS) == {"standard", "ntk", "mean-field"}


def test_a_batch_of_networks_is_each_network():
    batch = Network.random(TANH, 4, 8, 2, 1.5, 0.1, seed=2, batch=(3,), residual_step=None)
    x = np.broadcast_to(_inputs(), (3, 5, 4))
    together = batch(x)
    for k in range(3):
        one = Network([w[k] for w in batch.weights], [b[k] for b in batch.biases], TANH, 1.5, 0.1)
        assert np.allclose(one(x[k]), together[k], rtol=1e-14, atol=1e-15)
        assert np.allclose(one.ntk(x[k]), batch.ntk(x)[k], rtol=1e-13)


@pytest.mark.parametrize("keep", [True, False])
def test_drawn_weights_are_the_held_weights_and_hold_at_most_one_layer_unless_kept(keep):
    held = Network.random(TANH, 6, 6, 4, 1.5, 0.1, seed=5, residual_step=None, outputs=6, batch=(2,))
    draws, sizes = [], []

    def draw(layer):
        draws.append(layer)
        return held.weights[layer].copy()

    lazy = DrawnWeights(draw, len(held.weights), keep)
    drawn = Network(lazy, held.biases, TANH, 1.5, 0.1, held.parameterisation, held.kinds)
    x, cotangent = np.broadcast_to(_inputs(3, 6), (2, 3, 6)), np.random.default_rng(6).standard_normal((2, 3, 6))
    forward = drawn.forward(x, slopes=True)
    sizes.append(len(lazy._kept))
    for ours, theirs in zip(drawn.backward(x, cotangent, forward=forward), held.backward(x, cotangent)):
        assert np.array_equal(ours, theirs)
    assert np.array_equal(forward[0][-1], held.forward(x)[0][-1])
    layers = len(held.weights)
    if keep:  # one draw a layer, all kept for the backward pass
        assert sorted(draws) == list(range(layers)) and sizes == [layers]
    else:  # forward then backward: two draws a layer (the last layer once), one layer held
        assert sorted(draws) == sorted([*range(layers), *range(layers - 1)]) and sizes == [1] and len(lazy._kept) == 1
    with pytest.raises(IndexError):
        lazy[layers]


@pytest.mark.parametrize("residual_step", [None, 0.3])
def test_backward_and_jvp_against_torch(residual_step):
    torch = pytest.importorskip("torch")
    from torch.func import jacrev, jvp

    network = Network.random(TANH, 4, 4, 3, 1.5, 0.1, seed=3, residual_step=residual_step)
    assert network.kinds == (("residual",) * 3 if residual_step else ("dense",) * 3) + ("linear",)
    f, params = torch_function(network)
    x = _inputs()
    tangent = np.random.default_rng(4).standard_normal(x.shape)
    _, expected = jvp(lambda inputs: f(params, inputs), (torch.from_numpy(x),), (torch.from_numpy(tangent),))
    assert np.allclose(network.jvp(x, tangent)[:, 0], expected.numpy(), rtol=1e-12, atol=1e-14)
    jacobian = jacrev(lambda inputs: f(params, inputs).sum())(torch.from_numpy(x)).numpy()  # rows do not interact
    assert np.allclose(network.backward(x, np.ones((5, 1)))[0], jacobian, rtol=1e-12, atol=1e-14)
    coefficients = np.linspace(-1, 1, 5)
    for ours, theirs in zip(network.gradient(x, coefficients), autograd_gradient(network, x, coefficients)):
        for a, b in zip(ours, theirs):
            assert np.allclose(a, b, rtol=1e-12, atol=1e-14)
    assert np.allclose(network.ntk(x), autograd_ntk(network, x), rtol=1e-12, atol=1e-14)


def test_layer_jacobians_multiply_to_the_input_output_jacobian():
    """Pointwise-affine view: for ReLU the network is affine on each input's region, f(x) = J(x) x + c, and J is the
    product of the layer Jacobians D_l s_w W_l."""
    network = Network.random(RELU, 3, 6, 3, 2.0, 0.1, seed=5)
    x = _inputs(4, 3)
    jacobians = network.layer_jacobians(x)
    product = jacobians[0]
    for j in jacobians[1:]:
        product = j @ product
    for i, point in enumerate(x):
        columns = np.stack([network.jvp(point[None], e[None])[0] for e in np.eye(3)], axis=-1)
        assert np.allclose(product[i], columns, rtol=1e-13, atol=1e-15)
        step = 1e-6 * np.random.default_rng(i).standard_normal(3)  # inside the same region: exactly affine
        assert np.allclose(network(point[None] + step) - network(point[None]), product[i] @ step, rtol=1e-7, atol=1e-15)


def test_hessian_vector_products_against_finite_differences_of_gradients():
    pytest.importorskip("torch")
    network = Network.random(TANH, 3, 8, 2, 1.5, 0.1, seed=6)
    x, y = _inputs(6, 3), np.sin(np.arange(6.0))
    rng = np.random.default_rng(7)
    direction = ([rng.standard_normal(w.shape) for w in network.weights], [rng.standard_normal(b.shape) for b in network.biases])
    hv = autograd_hvp(network, x, y, direction)
    eps = 1e-5

    def gradient_at(sign):
        moved = network.copy()
        for w, d in zip(moved.weights, direction[0]):
            w += sign * eps * d
        for b, d in zip(moved.biases, direction[1]):
            b += sign * eps * d
        return moved.gradient(x, moved(x) - y)

    plus, minus = gradient_at(1), gradient_at(-1)
    for part in range(2):
        for h, p, m in zip(hv[part], plus[part], minus[part]):
            assert np.allclose(h, (p - m) / (2 * eps), rtol=1e-6, atol=1e-8)  # central differences: O(ε²) ≈ 1e-10


def test_orthogonal_weights_are_orthogonal_and_bad_names_refused():
    network = Network.random(TANH, 8, 8, 2, 2.0, 0.0, seed=8, parameterisation="standard", ensemble="orthogonal", outputs=None)
    for w in network.weights:
        assert np.allclose(w @ w.T, 2.0 * np.eye(8), atol=1e-12)
    with pytest.raises(ValueError, match="ensemble"):
        Network.random(TANH, 8, 8, 2, 2.0, 0.0, ensemble="uniform")
    with pytest.raises(ValueError, match="residual layer"):
        Network([np.ones((3, 2)), np.ones((1, 3))], [np.ones(3), np.ones(1)], TANH, 1.0, 0.0, kinds=("residual", "linear"))


def test_seeds_may_be_spawned_sequences():
    children = np.random.SeedSequence(9).spawn(2)
    a, b = (Network.random(TANH, 3, 4, 1, 1.0, 0.1, seed=c) for c in children)
    again = Network.random(TANH, 3, 4, 1, 1.0, 0.1, seed=np.random.SeedSequence(9).spawn(2)[0])
    assert not np.array_equal(a.weights[0], b.weights[0]) and np.array_equal(a.weights[0], again.weights[0])


def test_flat_parameters_round_trip_and_keep_the_architecture():
    network = Network.random(TANH, 4, 6, 2, 1.5, 0.1, seed=7, residual_step=0.3, outputs=2)
    flat = network.flat_parameters()
    assert flat.size == sum(a.size for a in (*network.weights, *network.biases))
    again = network.with_flat_parameters(flat)
    x = _inputs(3, 4)
    assert np.array_equal(again(x), network(x)) and again.kinds == network.kinds and again.residual_step == 0.3
    assert not np.array_equal(network.with_flat_parameters(2 * flat)(x), network(x))
