"""Integrators and the bracketed Newton method: orders of convergence, backends, failures that say so."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dyncheck.numerics.solvers import FIXED_STEP_METHODS, NonConvergence, adaptive, bracketed_newton, fixed_step


def _rotation(y):
    """ẏ = J y, J the rotation generator: the exact flow is a rotation (no aux)."""
    return np.stack([-y[1], y[0]]), None


@pytest.mark.parametrize("method", sorted(FIXED_STEP_METHODS))
def test_each_method_converges_at_its_order(method):
    """Halving the step divides the error at t = 1 by 2^order (measured order within 0.15 of the claimed one);
    the negative control is the other methods' orders, which the measurement tells apart."""
    y0 = np.array([1.0, 0.0])
    exact = np.array([math.cos(1.0), math.sin(1.0)])
    errors = [np.linalg.norm(fixed_step(_rotation, y0, 1.0 / n, n, method=method) - exact) for n in (40, 80, 160)]
    measured = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(measured - FIXED_STEP_METHODS[method]) < 0.15), measured
    others = {m: o for m, o in FIXED_STEP_METHODS.items() if m != method}
    assert all(np.all(np.abs(measured - o) > 0.5) for o in others.values())


def test_observe_sees_every_step_with_the_first_stage_aux():
    seen = []

    def velocity(y):
        return -y, float(y[0])

    end = fixed_step(velocity, np.array([1.0]), 0.1, 5, method="heun", observe=lambda k, y, aux: seen.append((k, aux)))
    assert [k for k, _ in seen] == [0, 1, 2, 3, 4, 5] and seen[-1][1] is None
    assert seen[1][1] == pytest.approx(1 - 0.1 + 0.1**2 / 2)  # Heun's first step of ẏ = −y
    assert end[0] == pytest.approx((1 - 0.1 + 0.005) ** 5)


def test_fixed_step_runs_on_torch_tensors():
    torch = pytest.importorskip("torch")
    y0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    end = fixed_step(lambda y: (torch.stack([-y[1], y[0]]), None), y0, 0.01, 100)
    assert isinstance(end, torch.Tensor) and abs(float(end[0]) - math.cos(1.0)) < 1e-10


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown fixed-step method"):
        fixed_step(_rotation, np.zeros(2), 0.1, 1, method="rk5")


def test_adaptive_meets_its_tolerance_and_fails_loudly():
    solution = adaptive(lambda t, y: y, (0.0, 2.0), [1.0], t_eval=[2.0])
    assert abs(solution.y[0, -1] - math.exp(2.0)) < 1e-8 * math.exp(2.0)
    backwards = adaptive(lambda t, y: y, (2.0, 0.0), [math.exp(2.0)])
    assert abs(backwards.y[0, -1] - 1.0) < 1e-8
    with pytest.raises(NonConvergence, match="adaptive integration failed"):
        adaptive(lambda t, y: y**2, (0.0, 2.0), [1.0])  # blows up at t = 1


@pytest.mark.parametrize("log_scale", [True, False])
def test_bracketed_newton_finds_every_root(log_scale):
    a = np.geomspace(1e-6, 1e6, 50)
    lo, hi = np.minimum(a, 1.0) / 2, np.maximum(a, 1.0) * 2  # f(lo) ≥ 0 > f(hi) for f = a − x²

    def f(x, i):  # on the scale of x, decreasing, root √a
        return a[i] / x - x

    roots = bracketed_newton(f, lambda x, i: -a[i] / x**2 - 1, lo, hi, log_scale=log_scale, what="√a")
    assert np.allclose(roots, np.sqrt(a), rtol=16 * np.finfo(float).eps, atol=0)


def test_a_first_guess_at_the_root_is_returned_not_a_midpoint():
    """Regression: with lo·hi = a the geometric first guess is √a itself; the Newton step rounds to nothing at
    the bracket's new edge, and the root, not the bisection that replaced that step, must come back."""
    a = np.array([5.428675439323859e-06])
    root = bracketed_newton(lambda x, i: a / x - x, lambda x, i: -a / x**2 - 1, a / 2, np.array([2.0]), log_scale=True, what="√a")
    assert root[0] == pytest.approx(math.sqrt(a[0]), rel=1e-15)


def test_a_step_that_leaves_the_bracket_becomes_a_midpoint():
    """f(x) = −atan(x − 3): Newton from far away overshoots wildly; bisection keeps it in [0, 100]."""
    roots = bracketed_newton(lambda x, i: -np.arctan(x - 3), lambda x, i: -1 / (1 + (x - 3) ** 2), np.array([0.0]), np.array([100.0]), log_scale=False, what="atan")
    assert roots[0] == pytest.approx(3.0, abs=1e-14)


def test_newton_that_does_not_converge_says_so():
    with pytest.raises(NonConvergence, match="1 point"):
        bracketed_newton(lambda x, i: 2.0 - x, lambda x, i: -np.ones_like(x) * 1e-9, np.array([0.0]), np.array([1e9]), log_scale=False, what="slow", max_iterations=3)


# ------------------------------------------------------------------------- the method of steps


def _exact_delay_solution(a: float, times: np.ndarray) -> np.ndarray:
    """x′ = −a x(t − 1), x ≡ 1 on [−1, 0], on a grid, by the exact method of steps (double precision suffices there)."""
    from dyncheck.theory.node import evaluate_piece, method_of_steps

    pieces = method_of_steps(a, 1.0, [1.0], int(times[-1]) + 1)
    return np.array([evaluate_piece(pieces[min(int(t), len(pieces) - 1)], t - min(int(t), len(pieces) - 1)) for t in times])


@pytest.mark.parametrize("method", sorted(FIXED_STEP_METHODS))
def test_the_delay_solver_converges_at_each_method_s_order(method):
    from dyncheck.numerics.solvers import delay_fixed_step

    a, errors = 1.2, []
    for m in (16, 32, 64):
        solution = delay_fixed_step(lambda t, y, delayed: -a * delayed, lambda t: np.ones(1), 1.0, 8.0, m, method=method)
        errors.append(np.abs(solution.states[:, 0] - _exact_delay_solution(a, solution.times)).max())
    slopes = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert all(abs(s - FIXED_STEP_METHODS[method]) < 0.3 for s in slopes), slopes


def test_a_function_valued_history_keeps_fourth_order():
    from dyncheck.numerics.solvers import delay_fixed_step

    def run(m):
        return delay_fixed_step(lambda t, y, delayed: -0.8 * delayed + 0.1 * np.sin(t) * y, lambda t: np.array([math.cos(3 * t)]), 1.0, 6.0, m).states[-1, 0]

    coarse, middle, fine = run(16), run(32), run(64)
    assert abs(math.log2(abs(coarse - middle) / abs(middle - fine)) - 4) < 0.3


def test_the_delay_solver_runs_on_torch_tensors_and_agrees_with_numpy():
    torch = pytest.importorskip("torch")
    from dyncheck.numerics.solvers import delay_fixed_step

    batch = np.array([1.0, -2.0, 0.5])
    here = delay_fixed_step(lambda t, y, d: -0.7 * d, lambda t: batch, 1.0, 5.0, 20)
    there = delay_fixed_step(lambda t, y, d: -0.7 * d, lambda t: torch.as_tensor(batch), 1.0, 5.0, 20)
    assert isinstance(there.states, torch.Tensor) and np.allclose(there.states.numpy(), here.states, rtol=1e-14, atol=0)


def test_a_delay_solver_without_a_step_or_delay_is_refused():
    from dyncheck.numerics.solvers import delay_fixed_step

    with pytest.raises(ValueError):
        delay_fixed_step(lambda t, y, d: d, lambda t: np.ones(1), 0.0, 1.0, 4)
    with pytest.raises(ValueError):
        delay_fixed_step(lambda t, y, d: d, lambda t: np.ones(1), 1.0, 1.0, 4, method="rk45")


def test_the_delay_solver_ends_at_t_end_by_a_partial_step():
    from dyncheck.numerics.solvers import delay_fixed_step
    from dyncheck.theory.node import delayed_exponential

    for t_end, m in ((0.3, 1), (7.77, 64), (1e-9, 8)):
        solution = delay_fixed_step(lambda t, y, d: -0.38 * d, lambda t: np.ones(1), 1.0, t_end, m)
        assert solution.times[-1] == t_end and len(solution.times) == len(solution.states)
        assert abs(solution.states[-1, 0] - float(delayed_exponential(0.38, 1.0, t_end))) < 1e-9


def test_a_start_inside_the_bracket_is_taken_and_one_outside_is_not():
    a = np.array([2.0, 5.0, 9.0])
    f, df = (lambda x, i: a[i] / x - x), (lambda x, i: -a[i] / x**2 - 1)
    steps = []

    def counted(x, i):
        steps.append(x.size)
        return f(x, i)

    exact = np.sqrt(a)
    roots = bracketed_newton(counted, df, np.ones(3), np.full(3, 4.0), log_scale=True, what="√a", start=exact * (1 + 1e-9))
    assert np.allclose(roots, exact, rtol=1e-15, atol=0) and len(steps) <= 3
    far = bracketed_newton(f, df, np.ones(3), np.full(3, 4.0), log_scale=True, what="√a", start=np.array([0.5, 7.0, np.nan]))
    assert np.allclose(far, exact, rtol=1e-15, atol=0)
