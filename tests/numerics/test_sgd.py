"""SGD's stability factors for general per-sample Hessians, Benettin's Lyapunov exponent, and SGD run beside a
minimum, against the exact one-dimensional and commuting values of :mod:`dyncheck.theory.sgd`."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from dyncheck.numerics import sgd
from dyncheck.theory import sgd as exact
from dyncheck.theory.errors import UsageError


@pytest.mark.parametrize(
    "hessians, message",
    [
        (np.ones((2, 2, 3)), "n × d × d"),
        (np.array([[[1.0, 2.0], [0.0, 1.0]]]), "not symmetric"),
        (np.array([[[1.0, 0.0], [0.0, -1.0]]]), "not a minimum"),
        (np.full((1, 2, 2), np.nan), "non-finite"),
        (np.zeros((2, 2, 2)), "no normal direction"),
    ],
)
def test_bad_hessians_are_refused_with_one_line(hessians, message):
    with pytest.raises(UsageError, match=message):
        sgd.CurvatureFamily(hessians)


def test_the_family_lives_on_the_normal_space_of_the_solutions():
    features = np.random.default_rng(0).standard_normal((3, 7))
    family = sgd.CurvatureFamily(np.einsum("ni,nj->nij", features, features))
    assert family.dimension == 3 and family.samples == 3
    assert np.allclose(family.basis @ family.basis.T @ features.T, features.T)  # N = row space
    with pytest.raises(UsageError, match="between 1 and"):
        family.batch_hessians(4)
    with pytest.raises(UsageError, match="positive number"):
        sgd.gd_factor(family, -0.1)


@pytest.mark.parametrize("curvatures, eta, batch", [((1.05, 3.5), 1.0, 1), ((0.0, 3.0), 1.0, 1), ((0.2, 0.9, 1.7, 3.1), 0.8, 2)])
def test_the_factors_of_one_dimensional_families_are_the_exact_ones(curvatures, eta, batch):
    family = sgd.CurvatureFamily.from_curvatures(curvatures)
    rational = [sp.nsimplify(h) for h in curvatures]
    assert sgd.gd_factor(family, eta) == pytest.approx(abs(1 - eta * np.mean(curvatures)), rel=1e-12)
    assert sgd.mean_square_factor(family, eta, batch) == pytest.approx(float(exact.second_moment_factor(rational, sp.nsimplify(eta), batch)), rel=1e-12)
    assert sgd.wu_ma_e_factor(family, eta, batch) == pytest.approx(sgd.mean_square_factor(family, eta, batch), rel=1e-12)
    assert sgd.exact_lyapunov_exponent(family, eta, batch) == pytest.approx(float(exact.lyapunov_exponent(rational, sp.nsimplify(eta), batch)), rel=1e-12)


def test_benettin_s_interval_covers_the_exact_exponent_and_shrinks_like_one_over_root_steps():
    family = sgd.CurvatureFamily(np.array([np.diag([1.05, 0.5]), np.diag([3.5, 1.9])]))
    truth = sgd.exact_lyapunov_exponent(family, 1.0, 1)
    assert truth == pytest.approx(max(np.log(0.05 * 2.5) / 2, np.log(0.5 * 0.9) / 2))
    short, long = (sgd.lyapunov_exponent(family, 1.0, 1, steps=steps, replicates=32, seed=4) for steps in (500, 8000))
    for estimate in (short, long):
        assert abs(estimate.value - truth) <= 1.5 * estimate.half_width
    assert 2.5 < short.half_width / long.half_width < 6.5  # √16 = 4


def test_the_mean_square_operator_is_bounded_by_wu_ma_e_s_factor():
    """ρ(E A⊗A) ≤ λ_max(E A²): the second-moment map is positive, so its spectral radius is at most ‖E A²‖."""
    rng = np.random.default_rng(2)
    features = rng.standard_normal((5, 4))
    family = sgd.CurvatureFamily(np.einsum("ni,nj->nij", features, features))
    for eta, batch in [(0.05, 1), (0.2, 2), (0.4, 3)]:
        assert sgd.mean_square_factor(family, eta, batch) <= sgd.wu_ma_e_factor(family, eta, batch) * (1 + 1e-12)


def test_the_mean_square_operator_predicts_monte_carlo_second_moments():
    rng = np.random.default_rng(3)
    features = rng.standard_normal((4, 3))
    family = sgd.CurvatureFamily(np.einsum("ni,nj->nij", features, features))
    eta, batch = 0.1, 2
    maps = np.eye(family.dimension) - eta * family.batch_hessians(batch)
    x = np.tile(np.eye(family.dimension)[0], (200_000, 1))
    for _ in range(6):
        x = np.einsum("rab,rb->ra", maps[rng.integers(maps.shape[0], size=x.shape[0])], x)
    second = np.eye(family.dimension)[0][:, None] * np.eye(family.dimension)[0][None, :]
    operator = np.einsum("kab,kcd->acbd", maps, maps).reshape(family.dimension**2, -1) / maps.shape[0]
    moment = second.reshape(-1)
    for _ in range(6):
        moment = operator @ moment
    estimate, error = (x**2).sum(axis=1).mean(), (x**2).sum(axis=1).std() / np.sqrt(x.shape[0])
    assert abs(estimate - np.trace(moment.reshape(family.dimension, -1))) < 4 * error


def test_sgd_on_least_squares_grows_at_benettin_s_rate():
    features = np.random.default_rng(3).standard_normal((4, 10))
    family = sgd.CurvatureFamily(np.einsum("ni,nj->nij", features, features))
    for eta in (0.05, 0.15):
        by_products = sgd.lyapunov_exponent(family, eta, 1, steps=3000, replicates=24)
        by_sgd = sgd.least_squares_sgd_rate(features, eta, 1, steps=3000, replicates=24, seed=1)
        assert abs(by_products.value - by_sgd.value) < 2 * np.hypot(by_products.half_width, by_sgd.half_width)
        assert by_products.sign == by_sgd.sign != 0


def test_an_interpolating_network_fits_exactly_and_sgd_beside_it_grows_at_benettin_s_rate():
    pytest.importorskip("torch")
    f, point, x, y = sgd.interpolating_network()
    import torch

    assert float((f(torch.as_tensor(point), torch.as_tensor(x)) - torch.as_tensor(y)).norm()) < 1e-14
    family = sgd.network_family(f, point, x, y)
    assert family.dimension == len(y)  # the rank-one Gauss–Newton terms span N
    eta = 0.9 * 2 / np.linalg.eigvalsh(family.mean).max()
    by_products = sgd.lyapunov_exponent(family, eta, 1, steps=2000, replicates=16)
    by_sgd = sgd.network_sgd_rate(f, point, x, y, eta, 1, steps=500, replicates=16)
    assert by_products.sign == by_sgd.sign == 1
    assert abs(by_products.value - by_sgd.value) < 2 * np.hypot(by_products.half_width, by_sgd.half_width)


def test_the_exact_second_moment_of_sgd_is_what_sgd_runs_average():
    eta = 0.05
    exact_sgd, _ = sgd.exact_moments([eta], 0, 2)
    mean, error = sgd.sgd_second_moment(eta, runs=200_000, seed=3)
    assert abs(mean - float(exact_sgd[0])) < 4.5 * error


def test_observed_orders_and_a_step_that_does_not_divide_the_horizon():
    errors = sgd.sme_weak_errors([0.02, 0.01], 0.25, 1)
    assert sgd.observed_orders([0.02, 0.01], errors)[0] == pytest.approx(2, abs=0.02)
    with pytest.raises(UsageError, match="whole number of steps"):
        sgd.sme_weak_errors([0.03], 0, 1)
    with pytest.raises(UsageError, match="moment 1 or 2"):
        sgd.sme_weak_errors([0.01], 0, 3)
    with pytest.raises(UsageError, match="curvature > 0"):
        sgd.sgd_second_moment(0.1, curvature=-1.0)


def test_the_best_piecewise_schedule_closes_on_the_optimum_like_one_over_pieces_squared():
    import math

    problem = {"curvature": 1.0, "noise_scale": 0.1, "start": 1.0, "horizon": 10.0}
    switching = 0.5 * math.log(19.0)
    optimum = 0.1 / (1 + (10.0 - switching))
    optimal = lambda t: 1.0 if t < switching else 1 / (1 + (t - switching))  # noqa: E731
    assert sgd.schedule_moment(optimal, breaks=[switching], **problem) == pytest.approx(optimum, rel=1e-9)
    gaps = [sgd.best_piecewise_schedule(pieces=k, **problem)[1] / optimum - 1 for k in (20, 40, 80)]
    assert all(g > 0 for g in gaps)  # no piecewise schedule beats the optimum
    assert 3 < gaps[0] / gaps[1] < 5 and 3 < gaps[1] / gaps[2] < 5


def test_schedule_moments_follow_the_closed_form_of_the_constant_rate():
    times = np.linspace(0, 3, 7)
    path = sgd.schedule_moments(lambda t: 1.0, times, curvature=2.0, noise_scale=0.2, start=1.5)
    assert np.allclose(path, 0.05 + (2.25 - 0.05) * np.exp(-4 * times), rtol=1e-9)


def test_euler_maruyama_converges_weakly_at_first_order_and_the_taylor_scheme_is_far_closer():
    """The SME-1 of the test model at η = 0.5 against its exact E X_T²: Euler–Maruyama's error roughly halves from
    h = η/4 to η/8 (first order, its h² term still visible), while the weak order-2.0 Taylor scheme is 25 times
    closer at h = η and within Monte Carlo noise at h = η/4 (2·10⁶ paths, standard error ~6e-4)."""
    exact = float(sgd.exact_moments([0.5], 0, 2)[1][0])

    def error(scheme, substeps):
        squares = sgd.sme_paths(0, 0.5, scheme=scheme, substeps=substeps, runs=2_000_000, seed=substeps) ** 2
        return squares.mean() - exact, squares.std() / np.sqrt(squares.size)

    (em4, _), (em8, se8) = error("euler-maruyama", 4), error("euler-maruyama", 8)
    assert 1.6 < em4 / em8 < 2.8 and em8 > 5 * se8
    (em1, _), (w1, _), (w4, s4) = error("euler-maruyama", 1), error("weak-2", 1), error("weak-2", 4)
    assert abs(w1) < abs(em1) / 10 and abs(w4) < 4 * s4
    with pytest.raises(UsageError, match="unknown scheme"):
        sgd.sme_paths(0, 0.5, scheme="milstein")
