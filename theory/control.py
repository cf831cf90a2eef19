r"""Training as optimal control: the discrete Pontryagin maximum principle, and LQ control.

A network of T layers is the control system x_{t+1} = f_t(x_t, θ_t) with the
parameters θ_t as controls.  For S samples the training objective is

.. math::  J(\theta) = \frac1S \sum_s \Phi(x_{s,T}, y_s) + \sum_t L_t(\theta_t).

Convention (Li, Chen, Tai & E 2018, *Maximum principle based algorithms for
deep learning*, JMLR; Liu & Theodorou 2019): the Hamiltonian is

.. math::  H_t(x, p, \theta) = p\cdot f_t(x, \theta) - \tfrac1S L_t(\theta),

the costate runs backwards from p_T = −∇Φ(x_T)/S with p_t = ∇_x H_t(x_t,
p_{t+1}, θ_t), and an optimal θ_t maximises Σ_s H_t.  Then

.. math::  p_{s,t} = -\frac{\partial J}{\partial x_{s,t}}, \qquad
           \nabla_{\theta_t} J = -\sum_s \nabla_\theta H_t(x_{s,t}, p_{s,t+1}, \theta_t),

so that backpropagation computes the costates (with the opposite sign) and
gradient descent is ascent on the summed Hamiltonian.  :func:`costate_residuals`
and :func:`gradient_residuals` state both as SymPy expressions for *generic*
(undefined) layers f_t, terminal cost Φ and regulariser L_t, unrolled over T
layers; every residual simplifies to 0.  With T = 1 and Φ read as an arbitrary
cost-to-go this is also the induction step, p_{t+1} = −∂J/∂x_{t+1} ⇒ p_t =
−∂J/∂x_t, which extends the statement to any depth.  :func:`concrete_costate_residuals`
does the same for dense and residual tanh layers with symbolic weights.

Continuous time (the neural ODE ẋ = g(x, θ), H = p·g): Ẋ = ∇_p H, Ṗ = −∇_x H.
The residual network with step h is the forward Euler scheme of the ODE, and
its discrete costate is the Euler step of the adjoint equation with the
Jacobian at x_t (:func:`euler_adjoint_residuals`).

Linear–quadratic control (x_{t+1} = A x_t + B u_t, cost ½Σ(Q x_t² + R u_t²) +
½ Q_T x_T²): dynamic programming (the Bellman equation, the discrete HJB) gives
the Riccati recursion P_t = Q + AᵀP_{t+1}A − AᵀP_{t+1}B (R + BᵀP_{t+1}B)⁻¹BᵀP_{t+1}A
with feedback u_t = −K_t x_t, K_t = (R + BᵀP_{t+1}B)⁻¹BᵀP_{t+1}A;
the maximum principle, with H_t = p·(A x + B u) − ½(xᵀQx + uᵀRu), gives a
linear two-point boundary problem (:func:`pmp_boundary_residuals`).  :func:`bellman_riccati_residual` derives
the Riccati recursion from the Bellman equation, and :func:`lq_residuals`
solves the boundary problem for a scalar system and returns u_t^PMP + K_t x_t
and p_t + P_t x_t.

Mean-field optimal control (E, Han & Li 2019, *A mean-field optimal control formulation of deep learning*,
Res. Math. Sci. 6:10): training minimises a population cost E_μ[Φ(x_T, y)] + ∫L(θ_t)dt over controls θ_t shared
by every sample (x_0, y) ~ μ; the optimal θ satisfies the *mean-field* maximum principle — each sample's costate
follows ṗ = −∇_x H, p_T = −∇Φ, and θ_t maximises E_μ[H(x_t, p_t, θ)].  The empirical problem (μ replaced by N
samples) has its own solution, whose distance to the population one is O(N^{-1/2}) (their Theorem 6).
:func:`mean_field_lq_control` solves the linear–quadratic case ẋ = a x + θ, Φ = ½(x_T − y)², L = (λ/2)θ² in
closed form by that principle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from dyncheck.theory.symbols import COSTATE_GAP, HAMILTONIAN, HORIZON as HORIZON_SYMBOL, MSA_PENALTY, STATE_GAP, TIME as TIME_SYMBOL

__all__ = [
    "AUGMENTED_HAMILTONIAN",
    "LITERATURE",
    "Convention",
    "augmented_hamiltonian",
    "bellman_riccati_residual",
    "concrete_costate_residuals",
    "costate_residuals",
    "dense_tanh",
    "euler_adjoint_residuals",
    "euler_costate_error_order",
    "gradient_residuals",
    "lq_residuals",
    "mean_field_lq_control",
    "pmp_boundary_residuals",
    "residual_tanh",
    "riccati",
]

S = sp.Symbol("S", positive=True)


@dataclass(frozen=True)
class Convention:
    """How the costate is started: p_T = sign · ∇Φ(x_T) / S^power (the literature: −1, 1)."""

    terminal_sign: int = -1
    sample_power: int = 1

    def terminal(self, gradient: sp.Expr, samples: sp.Expr) -> sp.Expr:
        return self.terminal_sign * gradient / samples**self.sample_power


#: Li, Chen, Tai & E (2018): p_T = −∇Φ/S.
LITERATURE = Convention()


def _canonical(expr: sp.Expr) -> sp.Expr:
    """Expanded form: the chain-rule products on both sides are the same monomials, so a true
    identity expands to 0 (``simplify`` is needlessly slow on nested tanh)."""
    return sp.expand(expr.doit())


def _at(expr: sp.Expr, variables, values) -> sp.Expr:
    return expr.subs(dict(zip(variables, values)), simultaneous=True)


def _generic_layer(t: int, n: int) -> Callable:
    def layer(x, theta):
        return [sp.Function(f"f{t}_{i}")(*x, theta) for i in range(n)]

    return layer


def _costates(layers, states, thetas, terminal_gradient, convention: Convention, samples):
    """p_T … p_0 of the maximum principle along ``states`` (lists of n expressions)."""
    n = len(states[0])
    xi = sp.symbols(f"xi0:{n}")
    costates = [None] * len(states)
    costates[-1] = [convention.terminal(g, samples) for g in terminal_gradient]
    for t in reversed(range(len(layers))):
        f = layers[t](xi, thetas[t])
        # p_t = ∇_x H_t = (∂f_t/∂x)ᵀ p_{t+1}
        costates[t] = [
            sum(_at(sp.diff(f[i], xi[j]), xi, states[t]) * costates[t + 1][i] for i in range(n)) for j in range(n)
        ]
    return costates


def _terminal_gradient(terminal: Callable, final_state) -> list[sp.Expr]:
    n = len(final_state)
    xi = sp.symbols(f"xi0:{n}")
    return [_at(sp.diff(terminal(xi), xi[i]), xi, final_state) for i in range(n)]


def _run(layers, x0, thetas):
    states = [list(x0)]
    for t, layer in enumerate(layers):
        states.append(layer(states[-1], thetas[t]))
    return states


def _residuals(layers, thetas, terminal, convention, n):
    """p_t + ∂J/∂x_t for t = 0 … T (one sample; other samples do not depend on its states)."""
    x0 = sp.symbols(f"x0_0:{n}")
    states = _run(layers, x0, thetas)
    regulariser = sum(sp.Function(f"L{t}")(theta) for t, theta in enumerate(thetas))
    costates = _costates(layers, states, thetas, _terminal_gradient(terminal, states[-1]), convention, S)
    xi = sp.symbols(f"xi0:{n}")
    out = []
    for t in range(len(states)):
        # J as a function of a free x_t: the layers t … T−1 applied to ξ
        cost = terminal(_run(layers[t:], xi, thetas[t:])[-1]) / S + regulariser
        gradient = [_at(sp.diff(cost, xi[j]), xi, states[t]) for j in range(n)]
        out.append([_canonical(costates[t][j] + gradient[j]) for j in range(n)])
    return out


def costate_residuals(layers: int = 3, dimension: int = 2, convention: Convention = LITERATURE) -> list[list[sp.Expr]]:
    """p_t + ∂J/∂x_t, t = 0 … T, for generic layers f_t(x, θ_t) and terminal cost Φ (all zero: proved)."""
    thetas = sp.symbols(f"theta0:{layers}")
    terminal = sp.Function("Phi")
    return _residuals(
        [_generic_layer(t, dimension) for t in range(layers)], thetas, lambda x: terminal(*x), convention, dimension
    )


def gradient_residuals(
    layers: int = 2, dimension: int = 2, samples: int = 2, convention: Convention = LITERATURE
) -> list[sp.Expr]:
    """∇_{θ_t} J + Σ_s ∂H_t/∂θ(x_{s,t}, p_{s,t+1}, θ_t) for generic layers and ``samples`` samples (all zero: proved)."""
    thetas = sp.symbols(f"theta0:{layers}")
    fs = [_generic_layer(t, dimension) for t in range(layers)]
    terminal = sp.Function("Phi")
    regularisers = [sp.Function(f"L{t}") for t in range(layers)]
    n_samples = sp.Integer(samples)
    objective = sum(r(th) for r, th in zip(regularisers, thetas))
    # Σ_s ∂H_t/∂θ, starting from Σ_s ∂(−L_t/S)/∂θ = −L_t′
    hamiltonian_slopes = [-sp.diff(regularisers[t](thetas[t]), thetas[t]) for t in range(layers)]
    for s in range(samples):
        states = _run(fs, sp.symbols(f"x{s}_0:{dimension}"), thetas)
        objective += terminal(*states[-1]) / n_samples
        gradient = _terminal_gradient(lambda x: terminal(*x), states[-1])
        costates = _costates(fs, states, thetas, gradient, convention, n_samples)
        for t in range(layers):
            # ∂H_t/∂θ at fixed x and p: differentiate p·f with p a symbol, then put p_{s,t+1} in
            held = sp.symbols(f"p0:{dimension}")
            f = fs[t](states[t], thetas[t])
            slope = sp.diff(sum(p * fi for p, fi in zip(held, f)), thetas[t])
            hamiltonian_slopes[t] += _at(slope, held, costates[t + 1])
    return [_canonical(sp.diff(objective, th) + h) for th, h in zip(thetas, hamiltonian_slopes)]


def dense_tanh(n: int, t: int) -> tuple[Callable, list[sp.Symbol]]:
    """The layer x ↦ tanh(W_t x + b_t) with symbolic W_t, b_t, and its parameters."""
    w = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"W{t}_{i}{j}"))
    b = sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"b{t}_{i}"))

    def layer(x, _theta):
        return list((w * sp.Matrix(x) + b).applyfunc(sp.tanh))

    return layer, [*w, *b]


#: The residual step of Li et al. (2018).
RESIDUAL_STEP = sp.Rational(1, 4)


def residual_tanh(n: int, t: int, step: sp.Expr = RESIDUAL_STEP) -> tuple[Callable, list[sp.Symbol]]:
    """The residual layer x ↦ x + δ tanh(W_t x + b_t) (Li et al. 2018 use δ = 1/4)."""
    dense, parameters = dense_tanh(n, t)

    def layer(x, theta):
        return [xi + step * yi for xi, yi in zip(x, dense(x, theta))]

    return layer, parameters


def concrete_costate_residuals(
    kind: str = "residual", layers: int = 2, dimension: int = 2, convention: Convention = LITERATURE
) -> list[list[sp.Expr]]:
    """p_t + ∂J/∂x_t for ``dense`` or ``residual`` tanh layers with symbolic weights and Φ = ½‖x_T − y‖²."""
    make = {"dense": dense_tanh, "residual": residual_tanh}[kind]
    built = [make(dimension, t) for t in range(layers)]
    target = sp.symbols(f"y0:{dimension}")

    def terminal(x):
        return sum((xi - yi) ** 2 for xi, yi in zip(x, target)) / 2

    thetas = sp.symbols(f"theta0:{layers}")  # unused by these layers: their weights are symbols
    return _residuals([layer for layer, _ in built], thetas, terminal, convention, dimension)


def euler_adjoint_residuals(steps: int = 3, dimension: int = 2, evaluation: int = 0) -> list[list[sp.Expr]]:
    """p_t − p_t^adj along the Euler network x_{t+1} = x_t + h g(x_t, θ_t) of a generic vector field g.

    p_t is the network's discrete costate; p_t^adj the Euler step of the adjoint
    equation ṗ = −(∂g/∂x)ᵀ p backwards in time, p_t^adj = p_{t+1} + h (∂g/∂x)ᵀ p_{t+1}
    with the Jacobian taken at x_{t + evaluation}.  With ``evaluation = 0`` the
    pair (forward Euler, this adjoint step) is symplectic Euler and the residuals
    vanish (Sanz-Serna 2016, *Symplectic Runge–Kutta schemes for adjoint
    equations*); taken at x_{t+1}, the plain explicit step backwards in time,
    they do not.
    """
    h = sp.Symbol("h", positive=True)
    thetas = sp.symbols(f"theta0:{steps}")

    def field(x, theta):
        return [sp.Function(f"g{i}")(*x, theta) for i in range(dimension)]

    def euler(x, theta):
        return [xi + h * gi for xi, gi in zip(x, field(x, theta))]

    terminal = sp.Function("Phi")
    states = _run([euler] * steps, sp.symbols(f"x0_0:{dimension}"), thetas)
    gradient = _terminal_gradient(lambda x: terminal(*x), states[-1])
    costates = _costates([euler] * steps, states, thetas, gradient, LITERATURE, S)
    xi = sp.symbols(f"xi0:{dimension}")
    adjoint = [None] * (steps + 1)
    adjoint[-1] = costates[-1]
    for t in reversed(range(steps)):
        g = field(xi, thetas[t])
        at = states[t + evaluation]
        adjoint[t] = [
            adjoint[t + 1][j]
            + h * sum(_at(sp.diff(g[i], xi[j]), xi, at) * adjoint[t + 1][i] for i in range(dimension))
            for j in range(dimension)
        ]
    return [[_canonical(p - q) for p, q in zip(costates[t], adjoint[t])] for t in range(steps + 1)]


def euler_costate_error_order() -> tuple[int, sp.Expr]:
    """Order in h of the Euler network's costate error against the adjoint ODE, and its leading term.

    For the linear field g(x) = a x over [0, T] with L = T/h steps, the discrete
    costate is p_0 = (1 + a h)^L p_T and the adjoint ODE gives p(0) = e^{aT} p(T);
    ln of their ratio, expanded in h, starts at −a²T h/2: first order.
    """
    a, h, horizon = sp.symbols("a h T", positive=True)
    log_ratio = horizon / h * sp.log(1 + a * h) - a * horizon
    leading = sp.series(log_ratio, h, 0, 3).removeO()
    order = min(sp.Poly(leading, h).monoms())[0]
    return order, sp.expand(leading).coeff(h, order) * h**order


#: The E-MSA augmented Hamiltonian of one sample in its scalar pieces (Li, Chen, Tai & E 2018, eq. 13):
#: H̃ = H − ½ρ e_x − ½ρ e_p with H = H(x, p′, θ), e_x = ‖x′ − f(x, θ)‖², e_p = ‖p − ∇_x H(x, p′, θ)‖².
AUGMENTED_HAMILTONIAN = HAMILTONIAN - MSA_PENALTY / 2 * STATE_GAP - MSA_PENALTY / 2 * COSTATE_GAP


def augmented_hamiltonian(layer: Callable, x, x_next, p, p_next, theta, rho, regulariser=0, samples=1) -> sp.Expr:
    """:data:`AUGMENTED_HAMILTONIAN` of one sample for the layer f = ``layer(x, theta)``, with H = p′·f(x, θ) − L(θ)/S.

    ``x``, ``x_next``, ``p``, ``p_next`` are sequences of symbols or numbers; maximising
    Σ_s H̃ over θ is one layer's update of the extended method of successive
    approximations (ρ = 0: plain MSA).
    """
    f = layer(list(x), theta)
    hamiltonian = sum(pi * fi for pi, fi in zip(p_next, f)) - regulariser / samples
    slope = [sp.diff(hamiltonian, xj) for xj in x]
    return AUGMENTED_HAMILTONIAN.xreplace(
        {
            HAMILTONIAN: hamiltonian,
            STATE_GAP: sum((xi - fi) ** 2 for xi, fi in zip(x_next, f)),
            COSTATE_GAP: sum((pj - sj) ** 2 for pj, sj in zip(p, slope)),
            MSA_PENALTY: sp.sympify(rho),
        }
    )


# ---------------------------------------------------------------------------
# Linear–quadratic control


def riccati(a, b, q, r, q_final, horizon: int, inverse: Callable = lambda m: m.inv()) -> tuple[list, list]:
    """P_0 … P_T and K_0 … K_{T−1} of the discrete Riccati recursion.

    Matrices of SymPy (the default ``inverse``) or numpy (pass ``numpy.linalg.inv``).
    """
    p = [None] * (horizon + 1)
    k = [None] * horizon
    p[horizon] = q_final
    for t in reversed(range(horizon)):
        nxt = p[t + 1]
        k[t] = inverse(r + b.T @ nxt @ b) @ b.T @ nxt @ a
        p[t] = q + a.T @ nxt @ a - a.T @ nxt @ b @ k[t]
    return p, k


def bellman_riccati_residual(recursion: Callable | None = None) -> sp.Expr:
    """P_t(Bellman) − P_t of ``recursion`` (default :func:`riccati`), one step, scalar LQ: the recursion derived.

    With V_{t+1}(x) = ½ P x² for a symbol P, the discrete HJB V_t(x) =
    min_u ½(q x² + r u²) + V_{t+1}(a x + b u) is solved by ∂/∂u = 0 and gives
    V_t = ½ P_t x².  One step with P arbitrary covers every t (and V_T = ½ q_T x²
    starts it), so a zero residual proves the recursion at any horizon.
    """
    a, b, q, r, p_next, x = sp.symbols("a b q r P x", positive=True)
    u = sp.Symbol("u", real=True)
    cost = (q * x**2 + r * u**2) / 2 + p_next * (a * x + b * u) ** 2 / 2
    (best,) = sp.solve(sp.diff(cost, u), u)
    derived = sp.cancel(2 * cost.subs(u, best) / x**2)
    p_matrix, _ = (recursion or riccati)(*[sp.Matrix([[v]]) for v in (a, b, q, r, p_next)], 1)
    return sp.cancel(derived - p_matrix[0][0, 0])


def pmp_boundary_residuals(a, b, q, r, q_final, x0, states, controls, costates) -> list:
    """The maximum principle's two-point boundary problem of LQ control, as residuals (zero at its solution).

    For x_{t+1} = A x_t + B u_t and the cost ½Σ_t (x_tᵀQx_t + u_tᵀRu_t) + ½x_TᵀQ_T x_T, with
    H_t = p·(A x + B u) − ½(xᵀQx + uᵀRu): the dynamics x_{t+1} − A x_t − B u_t (t = 0 … T−1),
    the maximisation of H_t in u, Bᵀp_{t+1} − R u_t (t = 0 … T−1), the costate recursion
    p_t − Aᵀp_{t+1} + Q x_t (t = 1 … T−1) and the terminal condition p_T + Q_T x_T, in this order.

    Vectors are rows, so that the same code runs on SymPy matrices (1 × n) and on numpy arrays
    with leading batch axes (…, n): ``x0`` is x_0, ``states`` x_1 … x_T, ``controls``
    u_0 … u_{T−1}, ``costates`` p_1 … p_T (R, Q and Q_T symmetric).
    """
    xs, ps = [x0, *states], [None, *costates]
    horizon = len(controls)
    residuals = [xs[t + 1] - xs[t] @ a.T - controls[t] @ b.T for t in range(horizon)]
    residuals += [ps[t + 1] @ b - controls[t] @ r for t in range(horizon)]
    residuals += [ps[t] - ps[t + 1] @ a + xs[t] @ q for t in range(1, horizon)]
    residuals.append(ps[horizon] + xs[horizon] @ q_final)
    return residuals


def lq_residuals(horizon: int = 3, bellman: Callable | None = None) -> tuple[list[sp.Expr], list[sp.Expr]]:
    """(u_t^PMP + K_t x_t, p_t + P_t x_t) for a scalar LQ problem: zero when PMP and dynamic programming agree.

    The maximum principle's two-point boundary problem (:func:`pmp_boundary_residuals`, the
    residuals the numerical solver uses) is solved symbolically from x_0; ``bellman`` (default
    :func:`riccati`, called with 1 × 1 matrices) gives P_t, K_t.
    """
    a, b, q, r, q_final, x0 = sp.symbols("a b q r q_T x0", positive=True)
    xs = [x0, *sp.symbols(f"x1:{horizon + 1}")]
    us = sp.symbols(f"u0:{horizon}")
    ps = [None, *sp.symbols(f"p1:{horizon + 1}")]
    as_matrix = [sp.Matrix([[v]]) for v in (a, b, q, r, q_final)]
    rows = [sp.Matrix([[v]]) for v in (*xs, *us, *ps[1:])]
    residuals = pmp_boundary_residuals(*as_matrix, rows[0], rows[1 : horizon + 1], rows[horizon + 1 : 2 * horizon + 1], rows[2 * horizon + 1 :])
    unknowns = [*xs[1:], *us, *ps[1:]]
    solution = sp.solve([residual[0, 0] for residual in residuals], unknowns, dict=True)[0]
    p_matrix, gains = ([m[0, 0] for m in ms] for ms in (bellman or riccati)(*as_matrix, horizon))
    # rational functions of a, b, q, r, q_T, x0: cancel's normal form is 0 exactly when the residual is (simplify is slow to give up on a nonzero one)
    controls = [sp.cancel(solution[us[t]] + gains[t] * _state(solution, xs, t)) for t in range(horizon)]
    costates = [sp.cancel(solution[ps[t]] + p_matrix[t] * solution[xs[t]]) for t in range(1, horizon + 1)]
    return controls, costates


def _state(solution, xs, t):
    return xs[0] if t == 0 else solution[xs[t]]


#: Symbols of the mean-field LQ problem: the drift a, the control cost λ, the population's mean terminal residual
#: m = E[e^{aT}x_0 − y] (what the uncontrolled flow misses on average).
DRIFT, CONTROL_COST, MEAN_RESIDUAL = sp.Symbol("a", real=True, nonzero=True), sp.Symbol("lambda_c", positive=True), sp.Symbol("m", real=True)


def mean_field_lq_control() -> sp.Expr:
    r"""θ*(t) of min_θ E_μ[½(x_T − y)²] + (λ/2)∫₀ᵀθ(t)²dt, ẋ = a x + θ(t) for every sample, by the mean-field PMP.

    With H = pθ + p a x − (λ/2)θ²: ṗ = −a p and p_T = −(x_T − y), so p_t = −(x_T − y)e^{a(T − t)}; maximising
    E_μ[H] gives θ_t = E_μ[p_t]/λ = −(m + c)e^{a(T − t)}/λ, where x_T − y = (e^{aT}x_0 − y) + c and
    c = ∫₀ᵀ e^{a(T − s)}θ(s)ds is the control's common shift; consistency solves the linear equation for c:

    .. math::  θ^*(t) = −\frac{m\, e^{a(T − t)}}{λ + G}, \qquad G = \int_0^T e^{2a(T − s)}ds.

    Only the mean m of the uncontrolled residual enters: its variance is a cost no shared control can remove.
    Each step is derived here (the costate ODE by ``dsolve``, the maximiser by ``solve``)."""
    t, s, horizon = TIME_SYMBOL, sp.Symbol("s", real=True), HORIZON_SYMBOL
    p, shift = sp.Function("p"), sp.Symbol("c", real=True)
    terminal = -(MEAN_RESIDUAL + shift)  # E_μ[p_T] = −E[x_T − y]
    costate = sp.dsolve(sp.Eq(p(t).diff(t), -DRIFT * p(t)), p(t), ics={p(horizon): terminal}).rhs  # ṗ = −∂H/∂x
    theta = sp.Symbol("theta", real=True)
    (control,) = sp.solve(sp.diff(costate * theta - CONTROL_COST * theta**2 / 2, theta), theta)  # argmax E_μ[H]
    # the generic antiderivative (a ≠ 0; a → 0 is its limit, G → T)
    consistency = sp.Eq(shift, sp.integrate(sp.exp(DRIFT * (horizon - s)) * control.subs(t, s), (s, 0, horizon), conds="none"))
    (common,) = sp.solve(consistency, shift)
    return sp.simplify(control.subs(shift, common))
