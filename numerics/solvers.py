"""Integrators and root finders, written once for every topic.

* :func:`fixed_step` — explicit Euler, Heun (second order) or classical Runge–Kutta (fourth
  order) with a fixed step, on numpy arrays or torch tensors (any device): the state never
  leaves the backend.  Batches of systems are one state array.
* :func:`adaptive` — Dormand–Prince 8(5,3) (DOP853, Hairer, Nørsett & Wanner 1993) through
  :func:`scipy.integrate.solve_ivp`, with the tolerances below unless given, and an error
  rather than a silently short solution when it fails.
* :func:`delay_fixed_step` — the method of steps for ẏ(t) = f(t, y(t), y(t − τ)) with a history on
  [−τ, 0]: the same fixed-step methods with a step that divides τ, so that the breaking points kτ
  (where y's derivatives jump) are grid points and the order is kept; a delayed value between grid
  points is the cubic Hermite interpolant of the stored states and slopes (error O(h⁴)).
* :func:`bracketed_newton` — Newton's method on many scalar equations at once, each kept
  inside its bracket [lo, hi] (f(lo) ≥ 0 > f(hi)), falling back to bisection (in log x
  where asked) when a step leaves it; no point stops silently.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dyncheck.proofs_check.tolerances import tolerance

__all__ = [
    "ADAPTIVE_ATOL",
    "ADAPTIVE_RTOL",
    "FIXED_STEP_METHODS",
    "NEWTON_MAX_ITERATIONS",
    "NEWTON_RESIDUAL_RTOL",
    "NEWTON_STEP_RTOL",
    "NonConvergence",
    "adaptive",
    "DelaySolution",
    "bracketed_newton",
    "delay_fixed_step",
    "fixed_step",
]

#: Order of accuracy of each fixed-step method (global error O(h^order)).
FIXED_STEP_METHODS = {"euler": 1, "heun": 2, "rk4": 4}

#: DOP853's default tolerances (the table's ``ode_relative``, with its reason).
ADAPTIVE_RTOL = ADAPTIVE_ATOL = tolerance("ode_relative")

#: Newton iterations allowed: away from a double root the iteration converges in ≲ 30.
NEWTON_MAX_ITERATIONS = 200
#: Relative step at which an iteration has converged, and the residual |f(x)| ≤ this × |x| that is
#: rounding noise (the table's ``newton_step_relative`` and ``newton_residual_relative``).
NEWTON_STEP_RTOL = tolerance("newton_step_relative")
NEWTON_RESIDUAL_RTOL = tolerance("newton_residual_relative")


class NonConvergence(RuntimeError):
    """An iteration did not converge (never reported as a number)."""


def fixed_step(
    velocity: Callable,
    state,
    step: float,
    steps: int,
    *,
    method: str = "rk4",
    observe: Callable | None = None,
    progress: Callable[[int, int], None] | None = None,
):
    """y after ``steps`` steps of ``step`` of ẏ = f(y) from ``state``, by ``method`` (:data:`FIXED_STEP_METHODS`).

    ``velocity(y)`` returns ``(f(y), aux)``: ``aux`` is whatever the first stage of a step has
    computed that ``observe(k, y_k, aux)`` may reuse (the cosines of the phases, say); ``observe``
    is called before each step k = 0 … steps − 1 and, with ``aux = None``, at the end.
    ``progress(done, total)`` is called about a hundred times.
    """
    if method not in FIXED_STEP_METHODS:
        raise ValueError(f"unknown fixed-step method {method!r}; choose {', '.join(FIXED_STEP_METHODS)}")
    report = max(1, steps // 100)
    y = state
    for k in range(steps):
        k1, aux = velocity(y)
        if observe is not None:
            observe(k, y, aux)
        if method == "rk4":
            k2 = velocity(y + (step / 2) * k1)[0]
            k3 = velocity(y + (step / 2) * k2)[0]
            k4 = velocity(y + step * k3)[0]
            y = y + (step / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        elif method == "heun":
            k2 = velocity(y + step * k1)[0]
            y = y + (step / 2) * (k1 + k2)
        else:
            y = y + step * k1
        if progress is not None and ((k + 1) % report == 0 or k + 1 == steps):
            progress(k + 1, steps)
    if observe is not None:
        observe(steps, y, None)
    return y


def adaptive(velocity: Callable, t_span: tuple[float, float], state, *, t_eval=None, rtol: float = ADAPTIVE_RTOL, atol: float = ADAPTIVE_ATOL):
    """``solve_ivp(velocity, t_span, state, method="DOP853")`` (``velocity(t, y)``; backwards when t_span falls).

    Returns the solution object; a failed integration raises :class:`NonConvergence` with scipy's message.
    """
    from scipy.integrate import solve_ivp

    solution = solve_ivp(velocity, t_span, state, method="DOP853", t_eval=t_eval, rtol=rtol, atol=atol)
    if not solution.success:
        raise NonConvergence(f"the adaptive integration failed: {solution.message}")
    return solution


@dataclass(frozen=True)
class DelaySolution:
    """States y(t_n) at t_n = n h, and at t_end after a final partial step (``states[n]``, numpy or torch as the
    history gave them)."""

    times: np.ndarray
    states: object


def _stack(values: list):
    if isinstance(values[0], np.ndarray) or np.isscalar(values[0]):
        return np.stack([np.asarray(v, float) for v in values])
    import torch

    return torch.stack(values)


def delay_fixed_step(
    velocity: Callable,
    history: Callable,
    delay: float,
    t_end: float,
    steps_per_delay: int,
    *,
    method: str = "rk4",
    progress: Callable[[int, int], None] | None = None,
) -> DelaySolution:
    """y on [0, t_end] of ẏ(t) = f(t, y(t), y(t − τ)) with y = ``history``(t) on [−τ, 0], by the method
    of steps with the fixed-step ``method`` (:data:`FIXED_STEP_METHODS`) and h = τ/``steps_per_delay``.

    ``velocity(t, y, y_delayed)`` and ``history(t)`` take and return backend arrays (a batch of systems
    is one array); a final partial step ends the run at ``t_end`` exactly.  A delayed value inside the
    history interval is the history itself; inside [0, t] it is a stored state (the delayed stage times
    of a full step are grid points or midpoints) or the cubic Hermite interpolant of the neighbouring
    states and their slopes — at a midpoint (y_j + y_{j+1})/2 + h (f_j − f_{j+1})/8.
    """
    if method not in FIXED_STEP_METHODS:
        raise ValueError(f"unknown fixed-step method {method!r}; choose {', '.join(FIXED_STEP_METHODS)}")
    if not delay > 0 or steps_per_delay < 1:
        raise ValueError("the delay must be positive and divided into at least one step")
    h = delay / steps_per_delay
    steps = int(math.floor(t_end / h + 1e-9))
    last = t_end - steps * h  # a final partial step, so that the run ends at t_end exactly
    sizes = [h] * steps + ([last] if last > 1e-9 * h else [])
    report = max(1, len(sizes) // 100)
    states, slopes = [history(0.0)], []

    def delayed(j: int, theta: float):
        """y(t_j + θh), t_j = jh, 0 ≤ θ ≤ 1: the history for t ≤ 0, else a stored state or the Hermite cubic
        θ ↦ h00 y_j + h10 h f_j + h01 y_{j+1} + h11 h f_{j+1} through the neighbouring states and slopes."""
        if j < 0 or (j == 0 and theta == 0):
            return history((j + theta) * h)
        if theta == 0:
            return states[j]
        if theta == 1:
            return states[j + 1]
        t2, t3 = theta * theta, theta * theta * theta
        return (2 * t3 - 3 * t2 + 1) * states[j] + (h * (t3 - 2 * t2 + theta)) * slopes[j] + (3 * t2 - 2 * t3) * states[j + 1] + (h * (t3 - t2)) * slopes[j + 1]

    for n, size in enumerate(sizes):
        t, y, j, fraction = n * h, states[n], n - steps_per_delay, size / h
        k1 = velocity(t, y, delayed(j, 0.0))
        slopes.append(k1)
        if method == "rk4":
            middle = delayed(j, fraction / 2)
            k2 = velocity(t + size / 2, y + (size / 2) * k1, middle)
            k3 = velocity(t + size / 2, y + (size / 2) * k2, middle)
            k4 = velocity(t + size, y + size * k3, delayed(j, fraction))
            states.append(y + (size / 6) * (k1 + 2 * k2 + 2 * k3 + k4))
        elif method == "heun":
            k2 = velocity(t + size, y + size * k1, delayed(j, fraction))
            states.append(y + (size / 2) * (k1 + k2))
        else:
            states.append(y + size * k1)
        if progress is not None and ((n + 1) % report == 0 or n + 1 == len(sizes)):
            progress(n + 1, len(sizes))
    return DelaySolution(np.append(h * np.arange(steps + 1), [t_end] if len(sizes) > steps else []), _stack(states))


def bracketed_newton(
    f: Callable,
    df: Callable,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    log_scale: bool,
    what: str,
    max_iterations: int = NEWTON_MAX_ITERATIONS,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Roots of ``f`` in [lo, hi], one per entry (f(lo) ≥ 0 > f(hi)), vectorized.

    ``f(x, index)`` and ``df(x, index)`` evaluate at the active entries ``index`` (a tuple of index
    arrays into the shape of ``lo``), f on the scale of x.  A Newton step that leaves the bracket is
    replaced by its midpoint (geometric with ``log_scale``); an entry has converged when its Newton
    step or its bracket is a few ulp, or when its residual is rounding noise, and then the point whose
    residual that is is returned (not a midpoint taken after it).  The first iterate is ``start`` where
    it lies inside its bracket (a caller that knows f at the ends passes the secant's root), else the
    bracket's midpoint.  Raises :class:`NonConvergence` naming ``what``.
    """
    lo, hi = np.array(lo, float), np.array(hi, float)
    x = np.sqrt(lo * hi) if log_scale else (lo + hi) / 2
    if start is not None:
        start = np.broadcast_to(np.asarray(start, float), x.shape)
        x = np.where((start > lo) & (start < hi), start, x)
    active = np.ones(x.shape, bool)
    for _ in range(max_iterations):
        if not active.any():
            return x
        idx = np.nonzero(active)
        xa, la, ha = x[idx], lo[idx], hi[idx]
        fx = f(xa, idx)
        at_root = np.abs(fx) <= NEWTON_RESIDUAL_RTOL * np.abs(xa)  # xa itself is a root, to rounding
        positive = fx >= 0
        la, ha = np.where(positive, xa, la), np.where(positive, ha, xa)
        new = xa - fx / df(xa, idx)
        # a step that leaves the bracket (or that rounds to nothing at its edge) is a bisection instead
        outside = ~np.isfinite(new) | (new <= la) | (new >= ha)
        middle = np.sqrt(la * ha) if log_scale else (la + ha) / 2
        new = np.where(outside, middle, new)
        done = at_root | (~outside & (np.abs(new - xa) <= NEWTON_STEP_RTOL * np.abs(xa))) | (ha - la <= NEWTON_STEP_RTOL * ha)
        x[idx], lo[idx], hi[idx] = np.where(at_root, xa, new), la, ha
        active[idx] = ~done
    raise NonConvergence(f"{what}: {int(active.sum())} point(s) did not converge in {max_iterations} iterations")
