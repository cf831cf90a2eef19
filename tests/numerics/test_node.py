"""numerics.node: flows with their divergence, certified gradient bounds, critical points, the isotonic bound,
training, and the linear delay equation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from dyncheck.numerics.networks import Network
from dyncheck.numerics.node import (
    AffineNeuralODE,
    ExpressionField,
    ScalarField,
    critical_points_1d,
    flow_derivative_by_differences,
    flow_with_divergence,
    grid_isotonic,
    isotonic_bound,
    linear_delay_solution,
    mlp_gradient_lower_bound,
    newton_critical_points,
    reversing_gain,
    sign_change_time,
    train_neural_ode,
)
from dyncheck.theory.activations import activation
from dyncheck.theory.errors import UsageError
from dyncheck.theory.symbols import STATE, X

TANH = activation("tanh").expr()


@given(st.integers(0, 10_000), st.floats(0.5, 3.0))
@settings(max_examples=10)
def test_e_to_the_divergence_is_the_flow_s_derivative(seed, horizon):
    field = ScalarField.random(6, seed=seed)
    x = np.linspace(-2, 2, 9)
    ends, divergence = flow_with_divergence(field, x, horizon)
    differences, truncation = flow_derivative_by_differences(field, x, horizon)
    # relative to 1e-6 above the stencil's rounding floor and its truncation (flow_derivative_relative and _floor)
    assert np.all(np.abs(np.exp(divergence) - differences) <= 1e-6 * np.abs(differences) + 1e-10 * (1 + np.abs(ends)) + 2 * truncation)


def test_an_expression_field_has_the_linear_flow_in_closed_form():
    field = ExpressionField(-2 * STATE + 1)
    ends, divergence = flow_with_divergence(field, np.array([0.0, 1.0]), 1.5)
    assert np.allclose(ends, (np.array([0.0, 1.0]) - 0.5) * math.exp(-3) + 0.5, rtol=1e-12)
    assert np.allclose(divergence, -3.0, rtol=1e-14)


def _mlp(seed, shapes=((3, 3), (2, 3), (1, 2))):
    rng = np.random.default_rng(seed)
    return Network([rng.normal(0, 1 / math.sqrt(s[1]), s) for s in shapes], [rng.normal(0, 0.5, s[0]) for s in shapes], TANH, 1.0, 1.0, "standard")


@given(st.integers(0, 10_000))
@settings(max_examples=10)
def test_the_certified_bound_never_exceeds_a_computed_gradient(seed):
    network = _mlp(seed)
    bound = mlp_gradient_lower_bound(network, -2, 2, subdivisions=4)
    x = np.random.default_rng(seed).uniform(-2, 2, (4000, 3))
    norms = np.linalg.norm(network.backward(x, np.ones((len(x), 1)))[0], axis=1)
    assert 0 < bound <= norms.min()


def test_a_widening_network_gets_no_certificate_and_its_critical_point_is_found():
    network = Network([np.array([[1.0], [1.0]]), np.array([[1.0, -1.0]])], [np.array([1.0, -1.0]), np.zeros(1)], TANH, 1.0, 1.0, "standard")
    assert mlp_gradient_lower_bound(network, -3, 3) == 0.0
    points, least = newton_critical_points(lambda x: network.backward(x, np.ones((len(x), 1)))[0], np.linspace(-3, 3, 13)[:, None], -3, 3)
    assert len(points) == 1 and abs(points[0, 0]) < 1e-12 and least < 1e-12
    roots = critical_points_1d(lambda x: network.backward(x[:, None], np.ones((len(x), 1)))[0][:, 0], -3, 3)
    assert len(roots) == 1 and abs(roots[0]) < 1e-12


def test_the_certified_bound_refuses_activations_outside_its_hypothesis():
    network = _mlp(0)
    with pytest.raises(UsageError):
        mlp_gradient_lower_bound(Network(network.weights, network.biases, activation("relu").expr(), 1.0, 1.0, "standard"), -1, 1)


def test_the_neural_ode_gradient_is_the_variational_equation_s():
    model = AffineNeuralODE.random(3, 2, seed=4)
    x = np.random.default_rng(0).normal(size=(6, 3))
    h = 1e-5
    differences = np.stack([(model(x + h * e) - model(x - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
    assert np.allclose(model.gradient(x), differences, rtol=1e-7, atol=1e-9)
    assert 0 < model.gradient_lower_bound() <= np.linalg.norm(model.gradient(x), axis=1).min()
    augmented = AffineNeuralODE.random(1, 2, seed=4)
    assert augmented.gradient_lower_bound() == 0.0  # the phase space is larger than the input


def test_the_isotonic_bound_is_exact_for_polynomials_and_converges_on_grids():
    bound = isotonic_bound(X**2, -1.0, 1.0)
    assert bound.exact == 3 * sp.sqrt(5) / 20 and bound.direction == "non-decreasing"
    assert bound.exact_blocks == ((-1, sp.Rational(1, 2), sp.Rational(1, 4)),)
    assert abs(bound.grid_bounds[1 << 18] - float(bound.exact)) < 1e-9
    decreasing = isotonic_bound(-(X**2) - X / 10, -1.0, 1.0)  # tilted down: nearer the non-increasing maps, its level negative
    assert decreasing.direction == "non-increasing" and all(level < 0 for _, _, level in decreasing.exact_blocks)
    smooth = isotonic_bound(sp.sin(3 * X), -1.0, 1.0)
    assert smooth.exact is None and "piecewise polynomial" in smooth.why_not_exact and smooth.grid_error < 1e-8


def test_the_isotonic_bound_refuses_what_it_cannot_bound():
    with pytest.raises(UsageError, match="square-integrable"):
        isotonic_bound(1 / X, -1.0, 1.0)
    with pytest.raises(UsageError, match="only x"):
        isotonic_bound(X * sp.Symbol("q"), -1.0, 1.0)
    with pytest.raises(UsageError, match="A < B"):
        isotonic_bound(X, 1.0, 1.0)


def test_grid_isotonic_is_the_monotone_projection_on_the_grid():
    values = np.array([3.0, 1.0, 2.0, 0.0, 5.0])
    distance, fit, blocks = grid_isotonic(values, 1.0)
    assert np.allclose(fit, [1.5, 1.5, 1.5, 1.5, 5.0]) and blocks == [(0, 3)]
    assert math.isclose(distance, math.sqrt(np.sum((values - fit) ** 2)))


def test_a_short_training_of_a_non_augmented_neural_ode_stays_above_the_bound():
    pytest.importorskip("torch")
    fit = train_neural_ode(X**2, -1.0, 1.0, augment=0, width=8, steps=8, iterations=60, points=64, evaluation_cells=1024)
    assert fit.monotone and fit.error >= fit.grid_bound  # any monotone map: a theorem on the grid


@pytest.mark.slow
def test_an_augmented_neural_ode_goes_below_the_bound_and_a_non_augmented_one_does_not():
    pytest.importorskip("torch")
    bound = isotonic_bound(X**2, -1.0, 1.0).bound
    plain = train_neural_ode(X**2, -1.0, 1.0, augment=0, iterations=1500)
    augmented = train_neural_ode(X**2, -1.0, 1.0, augment=1, iterations=1500)
    assert plain.monotone and plain.error >= plain.grid_bound and plain.error < 1.2 * bound
    assert augmented.error < bound / 5


def test_the_delay_equation_s_sign_change_and_the_reversing_gain():
    below = linear_delay_solution(0.35, 1.0, 40.0)
    above = linear_delay_solution(0.40, 1.0, 40.0)
    assert sign_change_time(below.times, below.states[:, 0]) is None
    assert 3 < sign_change_time(above.times, above.states[:, 0]) < 40
    gain = reversing_gain(0.5, 10.0)
    end = linear_delay_solution(gain, 0.5, 10.0, steps_per_delay=128).states[-1, 0]
    assert abs(end + 1) < 1e-8  # x₀ ↦ −x₀: orientation reversed, as no ODE flow can
    with pytest.raises(UsageError):
        linear_delay_solution(1.0, 0.0, 1.0)


def test_the_delay_equation_on_torch_agrees_with_numpy():
    torch = pytest.importorskip("torch")
    here = linear_delay_solution(0.8, 1.0, 10.0, history=lambda t: 1 + t)
    there = linear_delay_solution(0.8, 1.0, 10.0, history=lambda t: 1 + t, backend="torch")
    assert isinstance(there.states, torch.Tensor) and np.allclose(there.states.numpy(), here.states, rtol=1e-13, atol=1e-15)
