"""Delay equations and neural ODEs: the DDE solver's accuracy and speed, and neural ODE training on the CPU.

1. x′ = −a x(t − τ), x ≡ 1 on [−τ, 0], a = 1.2, τ = 1, on [0, 20]: the solver's largest error on its grid
   against the exact method of steps (:func:`dyncheck.theory.node.method_of_steps`, in 40-digit mpmath) for
   8 … 128 steps a delay, the observed order, and the time per step — one system, and 1000 systems as one
   array (numpy; torch on the CPU) — against ``ddeint`` (scipy's ``odeint`` with a history interpolated
   from its own output; ``pip install ddeint==0.3.0``), where it installs, on the same grid.  Ratios are
   against ddeint in the same run, or against the one-system numpy run without it.
2. Training a neural ODE (field 32 tanh units, RK4 with 10 steps, 256 points, float64, Adam) on x² for
   300 iterations: the core's RK4 differentiated by autograd (the discrete adjoint), against torchdiffeq's
   ``odeint`` (fixed-grid rk4, backpropagated) and ``odeint_adjoint`` (the continuous adjoint) on the same
   model where torchdiffeq installs (``pip install torchdiffeq==0.2.5``).

    python3 benchmarks/bench_node.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import math

import mpmath
import numpy as np

from dyncheck.numerics.node import linear_delay_solution
from dyncheck.theory.node import evaluate_piece, method_of_steps
from timing import best_of  # benchmarks/timing.py, beside this script

A, TAU, T_END = 1.2, 1.0, 20.0


def exact(times: np.ndarray) -> np.ndarray:
    with mpmath.workdps(40):
        pieces = method_of_steps(mpmath.mpf(A), mpmath.mpf(TAU), [mpmath.mpf(1)], int(T_END / TAU) + 1)
        return np.array([float(evaluate_piece(pieces[min(int(t // TAU), len(pieces) - 1)], mpmath.mpf(t) - min(int(t // TAU), len(pieces) - 1) * TAU)) for t in times])


def delay_solver(repeats: int) -> None:
    try:
        from ddeint import ddeint
    except ImportError:
        ddeint = None
    print(f"x′ = −{A} x(t − {TAU}), x ≡ 1 on [−τ, 0], t ∈ [0, {T_END:g}]")
    print(f"{'steps/τ':>8} {'RK4 max error':>14} {'order':>6} {'s/step (1)':>11} {'s/step (1000)':>14} {'torch (1000)':>13} {'ddeint max error':>17} {'ddeint s/step':>14} {'speed-up':>9}")
    previous = None
    for m in (8, 16, 32, 64, 128):
        solution = linear_delay_solution(A, TAU, T_END, steps_per_delay=m)
        steps = len(solution.times) - 1
        error = float(np.abs(solution.states[:, 0] - exact(solution.times)).max())
        order = math.log2(previous / error) if previous else float("nan")
        previous = error
        one = best_of(lambda: linear_delay_solution(A, TAU, T_END, steps_per_delay=m), repeats) / steps
        batch = np.ones(1000)
        many = best_of(lambda: linear_delay_solution(A, TAU, T_END, steps_per_delay=m, history=lambda t: batch), repeats) / steps
        try:
            torch_time = best_of(lambda: linear_delay_solution(A, TAU, T_END, steps_per_delay=m, history=lambda t: batch, backend="torch"), repeats) / steps
        except ImportError:
            torch_time = float("nan")
        if ddeint is not None:
            def model(y, t):
                return -A * y(t - TAU)

            reference = ddeint(model, lambda t: 1.0, solution.times)
            ddeint_error = float(np.abs(np.ravel(reference) - exact(solution.times)).max())
            ddeint_time = best_of(lambda: ddeint(model, lambda t: 1.0, solution.times), repeats) / steps
            ratio = f"{ddeint_time / one:.0f}×"
        else:
            ddeint_error = ddeint_time = float("nan")
            ratio = "—"
        print(f"{m:>8} {error:>14.2e} {order:>6.2f} {one:>11.2e} {many:>14.2e} {torch_time:>13.2e} {ddeint_error:>17.2e} {ddeint_time:>14.2e} {ratio:>9}")


def training(repeats: int) -> None:
    import torch

    from dyncheck.numerics.node import train_neural_ode
    from dyncheck.theory.symbols import X

    iterations = 300
    ours = best_of(lambda: train_neural_ode(X**2, -1.0, 1.0, augment=1, iterations=iterations), repeats)
    fit = train_neural_ode(X**2, -1.0, 1.0, augment=1, iterations=iterations)
    print(f"\nneural ODE training, {iterations} Adam iterations (augment 1, width 32, RK4 × 10, 256 points, float64, CPU):")
    print(f"  dyncheck (core RK4 + autograd, the discrete adjoint): {ours:.2f} s, final loss {fit.losses[-1]:.3e}")
    try:
        import torchdiffeq
    except ImportError:
        print("  torchdiffeq is not installed: pip install torchdiffeq==0.2.5 for its odeint and odeint_adjoint")
        return

    x = torch.linspace(-1, 1, 257, dtype=torch.float64)[:-1] + 1 / 256
    g = x**2

    class Field(torch.nn.Module):
        def __init__(self):
            super().__init__()
            generator = torch.Generator().manual_seed(0)
            self.inner = torch.nn.Parameter(torch.randn(32, 2, generator=generator, dtype=torch.float64) / math.sqrt(2))
            self.inner_bias = torch.nn.Parameter(0.5 * torch.randn(32, generator=generator, dtype=torch.float64))
            self.outer = torch.nn.Parameter(torch.randn(2, 32, generator=generator, dtype=torch.float64) / math.sqrt(32))
            self.outer_bias = torch.nn.Parameter(0.1 * torch.randn(2, generator=generator, dtype=torch.float64))

        def forward(self, t, h):
            return torch.tanh(h @ self.inner.T + self.inner_bias) @ self.outer.T + self.outer_bias

    def run(solver):
        field = Field()
        readout = torch.nn.Parameter(torch.tensor([1.0, 1.0], dtype=torch.float64))
        optimiser = torch.optim.Adam([*field.parameters(), readout], lr=1e-2)
        grid = torch.linspace(0, 1, 11, dtype=torch.float64)
        for _ in range(iterations):
            optimiser.zero_grad()
            h0 = torch.stack([x, torch.zeros_like(x)], dim=1)
            end = solver(field, h0, grid, method="rk4")[-1]
            loss = torch.mean((end @ readout - g) ** 2)
            loss.backward()
            optimiser.step()
        return float(loss.detach())

    for name, solver in (("odeint (rk4, backpropagated)", torchdiffeq.odeint), ("odeint_adjoint (rk4, continuous adjoint)", torchdiffeq.odeint_adjoint)):
        seconds = best_of(lambda: run(solver), repeats)
        print(f"  torchdiffeq {name}: {seconds:.2f} s ({seconds / ours:.2f}× dyncheck's time), final loss {run(solver):.3e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    delay_solver(args.repeats)
    training(args.repeats)


if __name__ == "__main__":
    main()
