"""numerics.meanfield_training: the network's gradient flow is its Kuramoto form, in numpy and torch; trained, the
cosine network reaches r∞ = min(c, 1)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dyncheck.numerics.meanfield_training import autograd_velocity, kuramoto_velocity, network_velocity, quadrature_points, train
from dyncheck.theory.meanfield_training import circle_model
from dyncheck.theory.symbols import U

FEATURES = [sp.sqrt(2) * sp.cos(U), sp.cos(U) + sp.sin(3 * U)]


@given(st.integers(0, 2**32 - 1), st.floats(0.1, 2.0), st.floats(-3.0, 3.0), st.sampled_from(FEATURES))
@settings(max_examples=20)
def test_the_network_velocity_is_the_kuramoto_velocity(seed, scale, angle, phi):
    model = circle_model(phi)
    theta = np.random.default_rng(seed).uniform(0, 2 * np.pi, (2, 40))
    network = network_velocity(model, theta, scale, angle, 0.7)
    assert np.abs(network - kuramoto_velocity(model, theta, scale, angle, 0.7)).max() <= 1e-13 * np.abs(network).max()


def test_the_uniform_rule_has_enough_points_for_the_feature():
    assert quadrature_points(circle_model(FEATURES[0])) == 5
    assert quadrature_points(circle_model(FEATURES[1])) == 13


def test_torch_routes_agree_with_numpy():
    torch = pytest.importorskip("torch")
    model = circle_model(FEATURES[1])
    theta = np.random.default_rng(1).uniform(0, 2 * np.pi, (3, 30))
    network = network_velocity(model, theta, 0.5, 1.0)
    assert np.allclose(autograd_velocity(model, torch.as_tensor(theta), 0.5, 1.0).numpy(), network, rtol=0, atol=1e-13)
    assert np.allclose(kuramoto_velocity(model, torch.as_tensor(theta), 0.5, 1.0).numpy(), network, rtol=0, atol=1e-13)


@pytest.mark.parametrize("scale", [0.4, 1.3])
def test_trained_cosine_features_reach_the_order_min_c_one(scale):
    run = train(circle_model(FEATURES[0]), 32, scale, time=30.0, step=0.05, replicates=2, seed=3)
    assert np.abs(run.order[-1] - min(scale, 1.0)).max() < 1e-4
    assert np.abs(run.phase[-1]).max() < 1e-4  # toward θ* = 0
    assert run.order[0].max() < 0.5  # from a spread start


def _erf_model():
    from dyncheck.theory.meanfield_training import two_layer_model
    from dyncheck.theory.symbols import Z

    return two_layer_model(sp.erf(Z), ((1, (2, 0)), (sp.Rational(-1, 2), (0, 1))))


def test_two_layer_risk_is_the_network_s_and_the_velocity_is_its_scaled_gradient():
    from scipy.special import erf

    from dyncheck.numerics.meanfield_training import mean_field_velocity, two_layer_risk

    model = _erf_model()
    w = np.random.default_rng(0).normal(0, 0.8, (6, 2))
    # the closed form against the network's risk by Monte Carlo over x ~ N(0, I₂)
    x = np.random.default_rng(1).standard_normal((1 << 20, 2))
    squared = (erf(x @ np.array([2.0, 0.0])) - 0.5 * erf(x @ np.array([0.0, 1.0])) - erf(x @ w.T).mean(axis=1)) ** 2
    assert abs(two_layer_risk(model, w) - squared.mean()) < 5 * squared.std() / np.sqrt(squared.size)
    # ẇ_i = −2ξ[∇V + (1/N)Σ∇₁U] = −Nξ ∇_{w_i} R_N, by central differences
    h, gradient = 1e-6, np.zeros_like(w)
    for i in range(6):
        for k in range(2):
            up, down = w.copy(), w.copy()
            up[i, k] += h
            down[i, k] -= h
            gradient[i, k] = (two_layer_risk(model, up) - two_layer_risk(model, down)) / (2 * h)
    assert np.abs(mean_field_velocity(model, w, xi=0.7) + 6 * 0.7 * gradient).max() < 1e-8


def test_the_distributional_dynamics_converge_in_the_rule_and_sgd_is_the_same_on_both_backends():
    from dyncheck.numerics.meanfield_training import distributional_dynamics, particle_sgd

    model = _erf_model()
    runs = [distributional_dynamics(model, spread=0.5, nodes=n, time=1.0, step=0.02, samples=6) for n in (8, 12, 16)]
    # the rule's error falls with the nodes (algebraically here, ~n⁻⁴: the flow concentrates the particles)
    first, second = (np.abs(a.risk - b.risk).max() for a, b in zip(runs, runs[1:]))
    assert second < first / 2 and second < 1e-3 and runs[-1].risk[-1, 0] < 0.3 * runs[-1].risk[0, 0]
    assert abs(runs[1].weights.sum() - 1) < 1e-12 and runs[1].particles.shape == (6, 1, 144, 2)
    run = particle_sgd(model, 16, replicates=3, spread=0.5, time=0.5, step=0.01, seed=2)
    assert run.risk.shape == (51, 3) and run.particles.shape == (51, 3, 16, 2)  # 50 steps, every one kept
    torch = pytest.importorskip("torch")
    del torch
    other = particle_sgd(model, 16, replicates=3, spread=0.5, time=0.5, step=0.01, seed=2, backend="torch")
    assert np.abs(run.particles - other.particles).max() < 1e-12


def test_relu_networks_converge_from_both_signs_and_stall_at_the_cone_optimum_from_one():
    from dyncheck.numerics.meanfield_training import cone_optimum, relu_teacher_problem, train_relu_network
    from dyncheck.theory.errors import UsageError

    x, y = relu_teacher_problem()
    spread = train_relu_network(x, y, 128, steps=1500, seed=3)
    half = train_relu_network(x, y, 128, initialisation="half-space", steps=1500, seed=3)
    positive = cone_optimum(x, y, signs="positive")
    assert spread[-1] < 1e-4 < positive - 0.2 and cone_optimum(x, y) < 1e-12
    assert positive <= half[-1] < positive * 1.01  # the stall is the best a > 0 allows, reached
    assert abs(cone_optimum(x, y, signs="positive", directions=8192) - positive) < 1e-3  # converged in the dictionary
    with pytest.raises(UsageError):
        train_relu_network(x, y, 16, initialisation="lazy")
    with pytest.raises(UsageError):
        cone_optimum(x[:, :2], y)
