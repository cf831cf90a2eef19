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
