"""Optimizers iterated: the update rules in float64 and mpmath, torch.optim, and the divergence bracket."""

from __future__ import annotations

import numpy as np
import pytest

from dyncheck.numerics.gradient_descent import divergence_bracket, growth, least_squares_growth, mp_growth, torch_growth
from dyncheck.theory.errors import UsageError


@pytest.mark.parametrize("name, beta, threshold", [("gd", 0.0, 2.0), ("heavy-ball", 0.5, 3.0), ("nesterov", 0.5, 1.5), ("adam", 0.5, 6.0)])
def test_runs_converge_below_the_threshold_and_diverge_above(name, beta, threshold):
    below, above = growth(name, [threshold * 0.99, threshold * 1.01], beta, 2000)
    assert below < 1 < above
    mp_below, mp_above = mp_growth(name, [str(threshold * 0.99), str(threshold * 1.01)], str(beta), 2000, dps=20)
    assert mp_below < 1 < mp_above


def test_overflow_counts_as_divergence():
    assert growth("gd", [1e3], 0.0, 2000)[0] == np.inf  # |1 − 1000|^2000 overflows to inf, then NaN


@pytest.mark.parametrize("name", ["gd", "heavy-ball", "nesterov", "adam"])
def test_torch_optim_diverges_where_the_update_rules_do(name):
    pytest.importorskip("torch")
    x = np.geomspace(0.1, 100, 200)
    assert np.array_equal(torch_growth(name, x, 0.7, 600) > 1, growth(name, x, 0.7, 600) > 1)


def test_the_bracket_refines_and_refuses_a_grid_that_is_not_stable_then_divergent():
    stable, divergent = divergence_bracket(lambda x, final: x > np.pi, 0.1, 100, points=64, rounds=3)
    assert stable <= np.pi < divergent and divergent - stable < 1e-3
    assert divergence_bracket(lambda x, final: (x > 2) & (x < 5), 0.1, 100) is None  # stable again beyond
    assert divergence_bracket(lambda x, final: x > 0, 0.1, 100) is None  # divergent everywhere


def test_least_squares_gd_diverges_past_two_over_the_mean_hessian_s_top_eigenvalue():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 4)), rng.standard_normal(20)
    threshold = 2 / np.linalg.eigvalsh(x.T @ x / 20).max()
    below, above = least_squares_growth(x, y, [threshold * 0.99, threshold * 1.01], 3000)
    assert below < 1e-3 and above > 1


def test_bad_input_is_refused():
    with pytest.raises(UsageError, match="unknown optimizer"):
        growth("sgd", [1.0], 0.0, 10)
    with pytest.raises(UsageError, match=r"\[0, 1\)"):
        growth("heavy-ball", [1.0], 1.0, 10)


def _indefinite_problem():
    """A tanh network far from fitting its targets: the residuals' curvature makes the Hessian indefinite, its most
    negative eigenvalue (≈ −119) larger in modulus than λ_max (≈ 67)."""
    from dyncheck.numerics.networks import Network
    from dyncheck.theory.activations import activation

    rng = np.random.default_rng(1)
    network = Network.random(activation("tanh").expr(), 3, 8, 2, 1.5, 0.1, seed=1, outputs=1)
    return network, rng.standard_normal((10, 3)), 30 * rng.standard_normal(10)


def test_lanczos_sharpness_is_lambda_max_of_the_dense_hessian_within_its_residual_bound():
    pytest.importorskip("torch")
    from dyncheck.numerics.gradient_descent import LossHessian, power_iteration, sharpness

    hessian = LossHessian(*_indefinite_problem(), reduction="half-sum")
    spectrum = np.linalg.eigvalsh(hessian.dense())
    assert spectrum.min() < -spectrum.max() < 0  # the premise: negative curvature dominates
    found = sharpness(hessian)
    assert abs(found.value - spectrum.max()) <= max(found.residual, 1e-12 * spectrum.max()) and found.residual < 1e-8
    assert found.products < 100 < hessian.size**2
    # power iteration finds the eigenvalue of largest modulus: the wrong answer here
    assert power_iteration(hessian, 300).value == pytest.approx(spectrum.min(), rel=1e-8)


def test_the_sharpness_scales_with_the_loss_reduction():
    pytest.importorskip("torch")
    from dyncheck.numerics.gradient_descent import REDUCTIONS, LossHessian, sharpness

    network, x, y = _indefinite_problem()
    values = {r: sharpness(LossHessian(network, x, y, r)).value for r in REDUCTIONS}
    k = y.size
    assert values["sum"] == pytest.approx(2 * values["half-sum"], rel=1e-10)
    assert values["mean"] == pytest.approx(2 / k * values["half-sum"], rel=1e-10)  # torch.nn.MSELoss: 2/K of ½-sum
    assert values["half-mean"] == pytest.approx(values["mean"] / 2, rel=1e-10)
    with pytest.raises(UsageError, match="reduction"):
        LossHessian(network, x, y, "per-sample")


def test_gd_at_the_edge_of_stability_hovers_at_two_over_eta_and_its_loss_falls_non_monotonically():
    pytest.importorskip("torch")
    from dyncheck.numerics.gradient_descent import edge_of_stability

    (run,) = edge_of_stability([0.4], steps=500)
    late = run.late_sharpness(250)
    assert run.sharpness[0] < 0.6 * 2 / 0.4  # it starts well below the edge and sharpens to it
    assert abs(late.mean() / 5.0 - 1) < 0.05 and late.max() < 5.5
    assert run.loss[-1] < 0.1 * run.loss[0] and np.any(np.diff(run.loss) > 0)  # falls, not monotonically


def test_a_diverging_run_is_reported_not_continued():
    pytest.importorskip("torch")
    from dyncheck.numerics.gradient_descent import edge_of_stability

    with pytest.raises(UsageError, match="diverged"):
        edge_of_stability([50.0], steps=50)


def test_deep_linear_gradient_flow_keeps_its_modes_apart_and_learns_the_larger_first():
    from dyncheck.numerics.gradient_descent import deep_linear_flow

    times = np.array([0.0, 1.0, 2.0, 8.0])
    strengths = deep_linear_flow([2.0, 1.0], 1e-2, times, seed=3)
    assert np.allclose(strengths[:, 0], 1e-2, rtol=1e-12)
    assert strengths[0, 2] > strengths[1, 2]  # the mode of larger s is learned first
    assert np.allclose(strengths[:, -1], [2.0, 1.0], rtol=1e-3)


def test_logistic_flow_turns_towards_the_max_margin_direction_like_one_over_log_t():
    from dyncheck.numerics.gradient_descent import logistic_flow_directions

    directions = logistic_flow_directions([[1, 0], [0.5, 1], [2, 1], [1, 2]], [10.0, 20.0, 40.0])
    target = np.array([1.0, 0.5]) / np.linalg.norm([1.0, 0.5])
    angles = np.arccos(directions @ target)
    assert np.all(np.diff(angles) < 0) and angles[-1] < 1e-2
    assert np.allclose(angles * [10, 20, 40], angles[-1] * 40, rtol=0.05)  # angle · log t settles


def test_the_edge_frame_by_autograd_is_the_pulled_network_s_closed_form():
    pytest.importorskip("torch")
    from dyncheck.numerics.gradient_descent import edge_frame, pulled_linear_network

    loss, point = pulled_linear_network(0.01, width=5, norm=3.0, seed=2)
    frame = edge_frame(loss, point)
    second = point[5:]
    assert frame.sharpness == pytest.approx(9.0, rel=1e-12) and frame.eta == pytest.approx(2 / 9, rel=1e-12)
    assert abs(frame.top[:5] @ second) == pytest.approx(3.0, rel=1e-12) and np.allclose(frame.top[5:], 0)
    assert np.allclose(frame.sharpness_gradient, np.concatenate([np.zeros(5), 2 * second]), atol=1e-12)
    assert frame.alpha == pytest.approx(2 * 0.01 * 3.0, rel=1e-12) and frame.beta == pytest.approx(36.0, rel=1e-12)
    assert frame.alignment < 1e-12
    assert np.allclose(np.ravel(frame.coordinates(frame.beside(0.3, -0.2)[None, :])), [0.3, -0.2], atol=1e-12)


def test_gd_beside_the_edge_takes_the_reduced_map_s_step_to_third_order():
    """One GD step from (x, y) ~ ε differs from the map by O(ε³): the gap falls 8-fold when ε halves."""
    pytest.importorskip("torch")
    from dyncheck.numerics.gradient_descent import edge_descent, edge_frame, pulled_linear_network, self_stabilisation_orbit

    gaps = []
    for scale in (0.02, 0.01):
        loss, point = pulled_linear_network(scale**2)
        frame = edge_frame(loss, point)
        x, y = edge_descent(loss, frame, 0.7 * scale, 0.5 * scale, 2)
        mx, my = self_stabilisation_orbit(x[0], y[0], frame.eta, frame.alpha, frame.beta, 2)
        gaps.append(max(abs(x[1] - mx[1]), abs(y[1] - my[1])))
    assert 6 < gaps[0] / gaps[1] < 10


def test_a_degenerate_top_eigenvalue_has_no_sharpness_gradient():
    torch = pytest.importorskip("torch")
    from dyncheck.numerics.gradient_descent import edge_frame

    with pytest.raises(UsageError, match="not simple"):
        edge_frame(lambda theta: (theta**2).sum(), np.zeros(3))
    assert torch  # the loss above is a torch function


def test_whole_cycles_are_bounded_by_upward_crossings():
    from dyncheck.numerics.gradient_descent import whole_cycles

    y = np.sin(np.linspace(0.1, 6 * np.pi, 300))
    start, end = whole_cycles(y)
    assert y[start - 1] < 0 <= y[start] and y[end - 1] < 0 <= y[end] and end > start
    assert whole_cycles(np.linspace(-1, 1, 10)) is None
