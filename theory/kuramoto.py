r"""Kuramoto populations: the order parameter, the Ott–Antonsen reduction, the self-consistency
equation, critical couplings on complete graphs and graphons, and the finite-N locking threshold.

Model (Kuramoto 1975; Strogatz 2000) on a graph with adjacency A:

.. math::  \dot\theta_i = \omega_i + \frac{K}{N_i} \sum_j A_{ij} \sin(\theta_j - \theta_i),

with N_i = N (the *population* normalisation, the one of the theory below and
of Chiba & Medvedev 2019) or N_i = deg(i) (the *degree* normalisation of the
``kuramoto`` package).  All to all (A_ij = 1) it reads
θ̇_i = ω_i + K Im(z e^{−iθ_i}) = ω_i + K r sin(ψ − θ_i) with the order
parameter z = r e^{iψ} = (1/N) Σ_j e^{iθ_j} (:func:`order_parameter_residual`).
Natural frequencies ω_i are drawn from a symmetric unimodal density g.

* Continuum limits.  On a graphon W (Medvedev 2014; Chiba & Medvedev 2019)
  ∂_t θ(t, x) = ω(x) + K ∫₀¹ W(x, y) sin(θ(t, y) − θ(t, x)) dy; all to all,
  the density f(θ, ω, t) of phases obeys the Vlasov equation
  ∂_t f + ∂_θ(f v) = 0 with v = ω + K Im(z e^{−iθ}), z = ∫∫ e^{iθ} f dθ dω.
* Ott–Antonsen (2008).  On the manifold f = g(ω)/2π [1 + Σ_{n≥1} (aⁿe^{inθ} + āⁿe^{−inθ})]
  each Fourier mode of the Vlasov equation reduces to one equation,
  ∂_t ā = iωā + (K/2)(z − z̄ ā²), with z = ∫ g ā dω (:func:`ott_antonsen_amplitude_equations`
  derives it and checks every mode).  For the Lorentzian g(ω) = (γ/π)/(ω² + γ²),
  closing the contour in the upper half plane gives z = ā(iγ), hence
  ṙ = (K/2 − γ) r − (K/2) r³, ψ̇ = 0 (:func:`ott_antonsen_order_parameter_equation`),
  solved in closed form by :func:`ott_antonsen_solution`;
  r∞ = √(1 − 2γ/K) for K > 2γ.
* Self-consistency (Kuramoto 1975): locked oscillators (|ω| ≤ Kr) sit at
  sin(θ − ψ) = ω/(Kr) and drifting ones contribute nothing to z, so a steady
  state obeys r = K r ∫_{−π/2}^{π/2} cos²θ g(K r sin θ) dθ (:func:`self_consistency`).
  Its slope at r = 0 gives K_c = 2/(π g(0)) (:func:`critical_coupling`); its
  expansion to O(r³) gives the square-root onset
  r² ≈ 16 (K − K_c)/(π K_c⁴ (−g''(0))) (:func:`near_onset_coefficient`);
  for the uniform g the branch starts at r = π/4 — a jump (:func:`uniform_locked_branch`).
* Graphs.  With the population normalisation the incoherent state loses
  stability at K_c = 2/(π g(0) μ_max), μ_max the largest eigenvalue of the
  operator (Wf)(x) = ∫ W(x, y) f(y) dy (Chiba & Medvedev 2019, Thm 4.1):
  μ_max = p for Erdős–Rényi (W ≡ p), and the eigenvalues of a circulant kernel
  W(x, y) = w(x − y) are its Fourier coefficients (:func:`circulant_eigenvalue`,
  :func:`ring_lattice_eigenvalue` for the finite k-nearest-neighbour ring).
* Full locking of N oscillators (centred ω; Mirollo & Strogatz 2005; Verwoerd &
  Mason 2008): a locked state exists iff K ≥ K_L = min_{u ≥ max|ω_i|} u / S(u),
  S(u) = (1/N) Σ √(1 − (ω_i/u)²) (:func:`locking_coupling`, with u = K r).
"""

from __future__ import annotations

import sympy as sp

from dyncheck.theory.errors import UsageError, check_evaluable
from dyncheck.theory.symbols import (
    DELTA,
    GAMMA,
    K,
    KR,
    LEVEL,
    MEAN_LOCKED_COSINE,
    OA_A,
    OA_A_BAR,
    OA_W,
    OA_Z,
    OA_Z_BAR,
    OMEGA,
    PSI,
    R,
    R0,
    SIGMA,
    STATE,
    THETA,
    TIME,
    X,
)
from dyncheck.theory.timelimit import SymbolicTimeout, time_limit

__all__ = [
    "DENSITIES",
    "checked_density",
    "FORMULAS",
    "QUANTILES",
    "WIDTHS",
    "GRAPHON_VARIABLES",
    "checked_graphon",
    "circulant_eigenvalue",
    "critical_coupling",
    "gaussian",
    "graph_critical_coupling",
    "locking_coupling",
    "lorentzian",
    "lorentzian_self_consistency",
    "near_onset_coefficient",
    "order_parameter_residual",
    "ott_antonsen_amplitude_equations",
    "ott_antonsen_order_parameter_equation",
    "ott_antonsen_rate",
    "ott_antonsen_solution",
    "ring_lattice_eigenvalue",
    "self_consistency",
    "separable_graphon_spectrum",
    "uniform",
    "uniform_locked_branch",
]

HALF = sp.Rational(1, 2)


def lorentzian(width: sp.Expr = GAMMA) -> sp.Expr:
    """g(ω) = (γ/π)/(ω² + γ²), centred at 0, half-width γ."""
    return width / sp.pi / (OMEGA**2 + width**2)


def gaussian(deviation: sp.Expr = SIGMA) -> sp.Expr:
    """g(ω) = e^{−ω²/2σ²}/(σ√(2π))."""
    return sp.exp(-(OMEGA**2) / (2 * deviation**2)) / (deviation * sp.sqrt(2 * sp.pi))


def uniform(half_width: sp.Expr = DELTA) -> sp.Expr:
    """g(ω) = 1/(2Δ) on [−Δ, Δ], 0 outside."""
    return sp.Piecewise((1 / (2 * half_width), sp.Abs(OMEGA) <= half_width), (0, True))


#: The frequency densities by name, and the symbol of each one's width.
DENSITIES = {"lorentzian": lorentzian, "gaussian": gaussian, "uniform": uniform}
WIDTHS = {"lorentzian": GAMMA, "gaussian": SIGMA, "uniform": DELTA}

#: Each density's quantile function G⁻¹(p), the inverse of its CDF G(ω) = ∫_{−∞}^ω g: γ tan(π(p − ½)),
#: −√2 σ erfc⁻¹(2p) (= σ Φ⁻¹(p), accurate in both tails) and Δ(2p − 1).  d G⁻¹/dp = 1/g(G⁻¹(p))
#: and G⁻¹(½) = 0 pin each to its density (tests/theory).
QUANTILES = {
    "lorentzian": GAMMA * sp.tan(sp.pi * (LEVEL - HALF)),
    "gaussian": -sp.sqrt(2) * SIGMA * sp.erfcinv(2 * LEVEL),
    "uniform": DELTA * (2 * LEVEL - 1),
}

#: Full locking (:func:`locking_coupling`): a locked oscillator of frequency ω sits at
#: cos(θ − ψ) = √(1 − (ω/(K r))²), and the coupling of a locked state with K r = u is u/S(u),
#: S(u) the mean of those cosines.
FORMULAS = {
    "locked_cosine": sp.sqrt(1 - (OMEGA / KR) ** 2),
    "locking_coupling": KR / MEAN_LOCKED_COSINE,
}


def order_parameter_residual(n: int) -> sp.Expr:
    """(K/N) Σ_j sin(θ_j − θ_1) − K Im(z e^{−iθ_1}) for N = n symbolic phases, simplified (0 when the rewrite holds)."""
    phases = sp.symbols(f"theta_1:{n + 1}", real=True)
    z = sum(sp.exp(sp.I * p) for p in phases) / n
    pairwise = K / n * sum(sp.sin(p - phases[0]) for p in phases)
    through_z = K * sp.im(sp.expand(z * sp.exp(-sp.I * phases[0])))
    return sp.simplify(sp.expand_trig(pairwise - through_z))


def _vlasov_modes(harmonics: int) -> sp.Expr:
    """∂_θ(f v) on the truncated OA ansatz, 2π f/g = 1 + Σ_{n ≤ H} (aⁿwⁿ + āⁿw⁻ⁿ), as a Laurent polynomial in w = e^{iθ}."""
    density = 1 + sum(OA_A**n * OA_W**n + OA_A_BAR**n * OA_W**-n for n in range(1, harmonics + 1))
    velocity = OMEGA + K / (2 * sp.I) * (OA_Z / OA_W - OA_Z_BAR * OA_W)  # ω + K Im(z e^{−iθ})
    return sp.expand(sp.I * OA_W * sp.diff(sp.expand(density * velocity), OA_W))  # ∂_θ = i w ∂_w


def ott_antonsen_amplitude_equations(harmonics: int = 6) -> tuple[sp.Expr, sp.Expr, list[sp.Expr]]:
    """ȧ and the conjugate amplitude's rate from the Vlasov equation's first modes, and the
    residuals of modes 2 … H − 1 on the ansatz (all 0: the OA manifold is invariant).

    The Vlasov equation ∂_t f = −∂_θ(f v) holds mode by mode; mode ±1 fixes ȧ
    and (ā)˙, and mode ±n then demands ∂_t aⁿ = n aⁿ⁻¹ ȧ — which the residuals check.
    """
    flux = _vlasov_modes(harmonics)
    a_dot = sp.factor(-flux.coeff(OA_W, 1))
    a_bar_dot = sp.factor(-flux.coeff(OA_W, -1))
    residuals = []
    for n in range(2, harmonics):
        residuals.append(sp.expand(n * OA_A ** (n - 1) * a_dot + flux.coeff(OA_W, n)))
        residuals.append(sp.expand(n * OA_A_BAR ** (n - 1) * a_bar_dot + flux.coeff(OA_W, -n)))
    return a_dot, a_bar_dot, residuals


def ott_antonsen_order_parameter_equation(g: sp.Expr | None = None) -> tuple[sp.Expr, sp.Expr]:
    """(ṙ, ψ̇) derived for a density g with one simple pole in the upper half plane (the Lorentzian).

    z = ∫ g(ω) ā(ω) dω: ā continues analytically into Im ω > 0 (where its rate's
    iωā term damps it), so the contour closes there and z = 2πi Res g · ā(pole).
    Then ż is ā's rate at the pole with ā = z, and with z = r e^{iψ},
    ṙ + i r ψ̇ = ż e^{−iψ}.
    """
    g = lorentzian() if g is None else g
    s = sp.Symbol("s")
    g_s = g.subs(OMEGA, s)
    poles = [p for p in sp.solve(sp.denom(sp.together(g_s)), s) if sp.im(p).is_positive]
    if len(poles) != 1:
        raise ValueError("the contour argument needs exactly one pole of g in the upper half plane")
    weight = sp.simplify(2 * sp.pi * sp.I * sp.residue(g_s, s, poles[0]))
    _, a_bar_dot, _ = ott_antonsen_amplitude_equations(2)
    z_dot = weight * a_bar_dot.subs({OMEGA: poles[0], OA_A_BAR: OA_Z})
    polar = sp.expand(z_dot.subs({OA_Z: R * sp.exp(sp.I * PSI), OA_Z_BAR: R * sp.exp(-sp.I * PSI)}) * sp.exp(-sp.I * PSI))
    return sp.factor(sp.simplify(sp.re(polar))), sp.simplify(sp.im(polar) / R)


def ott_antonsen_rate(width: sp.Expr = GAMMA) -> sp.Expr:
    """ṙ on the Ott–Antonsen manifold for the Lorentzian of half-width γ, as published: (K/2 − γ) r − (K/2) r³."""
    return (K / 2 - width) * R - K / 2 * R**3


def ott_antonsen_solution(width: sp.Expr = GAMMA) -> sp.Expr:
    """r(t) from r(0) = r₀ > 0, for K > 2γ: ṙ is a Bernoulli equation, linear in u = r⁻²."""
    r_inf2 = 1 - 2 * width / K
    return sp.sqrt(r_inf2) / sp.sqrt(1 + (r_inf2 / R0**2 - 1) * sp.exp(-(K - 2 * width) * TIME))


def self_consistency(g: sp.Expr) -> sp.Expr:
    """K r ∫_{−π/2}^{π/2} cos²θ g(K r sin θ) dθ, unevaluated: a steady state's r equals it."""
    return K * R * sp.Integral(sp.cos(THETA) ** 2 * g.subs(OMEGA, K * R * sp.sin(THETA)), (THETA, -sp.pi / 2, sp.pi / 2))


def lorentzian_self_consistency(width: sp.Expr = GAMMA) -> sp.Expr:
    """The Lorentzian's self-consistency integral in closed form, (√(K²r² + γ²) − γ)/(K r).

    With t = tan θ the integrand becomes rational in t on the real line; its
    partial fractions integrate term by term (each an arctangent).
    """
    t, a = sp.Symbol("t", real=True), sp.Symbol("a", positive=True)  # a = K r
    g = lorentzian(width)
    integrand = sp.cancel(g.subs(OMEGA, a * t / sp.sqrt(1 + t**2)) / (1 + t**2) ** 2)  # cos²θ dθ = dt/(1+t²)²
    integral = sum(sp.integrate(term, (t, -sp.oo, sp.oo)) for term in sp.Add.make_args(sp.apart(integrand, t)))
    return sp.simplify(K * R * integral.subs(a, K * R))


def critical_coupling(g: sp.Expr) -> sp.Expr:
    """K_c = 2/(π g(0)), derived: the coupling at which the self-consistency's slope at r = 0 reaches 1."""
    slope = sp.simplify(sp.diff(self_consistency(g), R).subs(R, 0).doit())
    (root,) = sp.solve(sp.Eq(slope, 1), K)
    return sp.simplify(root)


#: Points of the grid on which a user's density is checked to be non-negative and non-increasing on ω > 0.
_DENSITY_GRID = 4001


def checked_density(g: sp.Expr) -> sp.Expr:
    r"""A natural-frequency density given as an expression in ω, checked before any work: real and finite at 0,
    symmetric (g(ω) − g(−ω) simplifies to 0), normalised (∫ g dω = 1 to 1e-10, by 30-digit mpmath quadrature)
    and unimodal (g ≥ 0, and non-increasing on a grid of 4001 points of ω ∈ (0, W], W where g falls below
    1e-14 g(0) or 1e4) — a :class:`UsageError` naming what fails.  Unimodality is checked numerically, on the grid."""
    import mpmath

    if g.free_symbols - {OMEGA}:
        raise UsageError(f"a frequency density depends on omega only, not on {', '.join(sorted(map(str, g.free_symbols - {OMEGA})))}")
    at_zero = g.subs(OMEGA, 0)
    if not (at_zero.is_number and at_zero.is_extended_real and at_zero.is_finite and at_zero > 0):
        raise UsageError(f"g(0) = {at_zero} must be finite and positive (K_c = 2/(π g(0)))")
    if sp.simplify(g - g.subs(OMEGA, -OMEGA)) != 0:  # the self-consistency integral is taken over an even integrand
        raise UsageError(f"the density {g} is not symmetric as SymPy reads it: g(ω) − g(−ω) does not simplify to 0 (write |ω| as sqrt(omega**2))")
    f = sp.lambdify(OMEGA, g, "mpmath")
    with mpmath.workdps(30):
        peak = f(mpmath.mpf(0))
        edge = mpmath.mpf(1)
        while edge < 10**4 and abs(f(edge)) > peak * mpmath.mpf(10) ** -14:
            edge *= 2
        grid = [edge * mpmath.mpf(k) / (_DENSITY_GRID - 1) for k in range(_DENSITY_GRID)]
        values = [f(w) for w in grid]
        if any(not mpmath.isfinite(v) or mpmath.im(v) != 0 for v in values):
            raise UsageError(f"the density {g} is not real and finite on the real line")
        if any(v < 0 for v in values):
            raise UsageError(f"the density {g} takes negative values")
        if any(b > a * (1 + mpmath.mpf(10) ** -12) + mpmath.mpf(10) ** -25 for a, b in zip(values, values[1:])):
            raise UsageError(f"the density {g} is not unimodal: it rises somewhere on ω > 0")
        total = 2 * mpmath.quad(f, [0, 1, edge, mpmath.inf])
        if abs(total - 1) > mpmath.mpf(10) ** -10:
            raise UsageError(f"the density {g} integrates to {mpmath.nstr(total, 12)}, not 1: divide it by that")
    return g


def near_onset_coefficient(g: sp.Expr) -> sp.Expr:
    """C in r² ≈ C (K − K_c) just above K_c, derived from the self-consistency to O(r³).

    g(Kr sin θ) = g(0) + g''(0) K²r² sin²θ/2 + O(r⁴) integrates against cos²θ to
    π g(0)/2 + π g''(0) K² r²/16, so r² = 16 (1 − π K g(0)/2)/(π g''(0) K³), whose
    slope in K at K_c is C (= 16/(π K_c⁴ (−g''(0))) as published).
    """
    g0, g2 = g.subs(OMEGA, 0), sp.diff(g, OMEGA, 2).subs(OMEGA, 0)
    truncated = g0 + g2 * (K * R * sp.sin(THETA)) ** 2 / 2
    bracket = sp.integrate(sp.cos(THETA) ** 2 * truncated, (THETA, -sp.pi / 2, sp.pi / 2))
    (r2,) = sp.solve(sp.Eq(K * bracket.subs(R**2, sp.Symbol("s")), 1), sp.Symbol("s"))
    return sp.simplify(sp.diff(r2, K).subs(K, critical_coupling(g)))


def uniform_locked_branch(half_width: sp.Expr = DELTA) -> tuple[sp.Expr, sp.Expr, sp.Symbol]:
    """(K(θ₀), r(θ₀), θ₀): the partially locked branch of the uniform g, parametrised by the locking angle.

    For K r ≥ Δ the oscillators lock for |θ| ≤ θ₀, sin θ₀ = Δ/(K r), and the
    self-consistency reads r = (K r/2Δ) ∫_{−θ₀}^{θ₀} cos²θ dθ.  At θ₀ = π/2 the
    branch starts at K = 4Δ/π = K_c with r = π/4 (Pazó 2005), and K(θ₀) only
    grows as θ₀ falls: the onset is a jump, every oscillator locked at once.
    """
    theta0 = sp.Symbol("theta_0", positive=True)
    locked = sp.integrate(sp.cos(THETA) ** 2, (THETA, -theta0, theta0)) / (2 * half_width)
    coupling = sp.solve(sp.Eq(K * locked, 1), K)[0]  # r cancels from r = K r ∫…
    order = sp.simplify(half_width / (coupling * sp.sin(theta0)))
    return sp.simplify(coupling), order, theta0


def circulant_eigenvalue(kernel: sp.Expr, s: sp.Symbol, mode: sp.Expr, support: sp.Expr = HALF) -> sp.Expr:
    """Eigenvalue of (Wf)(x) = ∫₀¹ w(x − y) f(y) dy on the mode e^{2πikx}: ∫ w(s) cos(2πks) ds over |s| ≤ support.

    W(x, y) = w(x − y) with w even and 1-periodic, vanishing for support < |s| ≤ 1/2;
    the k-nearest-neighbour graphon of range ρ is w = 1 with support ρ, whose
    eigenvalues are sin(2πkρ)/(πk) and, largest, 2ρ at k = 0.
    """
    return sp.simplify(sp.integrate(kernel * sp.cos(2 * sp.pi * mode * s), (s, -support, support)))


def ring_lattice_eigenvalue(n: sp.Expr, neighbours: sp.Expr, mode: sp.Expr) -> sp.Expr:
    """Eigenvalue on mode m of the adjacency of the ring of n nodes, each joined to its k nearest on either side.

    The matrix is circulant, so its eigenvalues are Σ_{0 < |j| ≤ k} e^{2πimj/n}:
    a Dirichlet kernel, sin((2k + 1)πm/n)/sin(πm/n) − 1, and 2k at m = 0.
    """
    angle = sp.pi * mode / n
    return sp.Piecewise((2 * neighbours, sp.Eq(sp.sin(angle), 0)), (sp.sin((2 * neighbours + 1) * angle) / sp.sin(angle) - 1, True))


#: The variables of a graphon W(x, y) on [0, 1]², as a user writes them (the symbols x and y of :mod:`theory.symbols`).
GRAPHON_VARIABLES = (X, STATE)
#: The most separable terms, and the CPU seconds, the symbolic spectrum of a graphon is given.
_GRAPHON_TERMS, _GRAPHON_BUDGET_S = 12, 20.0


def checked_graphon(w: sp.Expr) -> sp.Expr:
    """W(x, y), refused unless it depends on x and y alone and is symmetric (W(x, y) − W(y, x) simplifies to 0);
    its values in [0, 1] are checked on a grid by :func:`dyncheck.numerics.kuramoto.graphon_top_eigenvalue`."""
    x, y = GRAPHON_VARIABLES
    check_evaluable(w, "graphon")
    if w.free_symbols - {x, y}:
        raise UsageError(f"a graphon depends on x and y only, not on {', '.join(sorted(map(str, w.free_symbols - {x, y})))}")
    if sp.simplify(w - w.subs({x: y, y: x}, simultaneous=True)) != 0:
        raise UsageError(f"the graphon {w} is not symmetric: W(x, y) ≠ W(y, x)")
    return w


def separable_graphon_spectrum(w: sp.Expr) -> list[sp.Expr] | None:
    """The nonzero eigenvalues of (Wf)(x) = ∫₀¹ W(x, y) f(y) dy for a degenerate kernel W = Σ_k a_k(x) b_k(y), exactly,
    or None when W does not split into at most 12 such terms (after expanding trigonometric sums) or SymPy's
    budget runs out.

    On the span of the a_k the operator acts by the matrix M_kj = ∫₀¹ b_k(y) a_j(y) dy, whose eigenvalues are the
    operator's nonzero ones (W f = Σ_k a_k ⟨b_k, f⟩)."""
    x, y = GRAPHON_VARIABLES
    terms = sp.Add.make_args(sp.expand(sp.expand_trig(sp.expand(w))))
    if len(terms) > _GRAPHON_TERMS:
        return None
    left, right = [], []
    for term in terms:
        parts = sp.separatevars(term, symbols=[x, y], dict=True)
        if parts is None:
            return None
        left.append(parts["coeff"] * parts[x])
        right.append(parts[y])
    try:
        with time_limit(_GRAPHON_BUDGET_S):
            matrix = sp.Matrix(len(terms), len(terms), lambda k, j: sp.integrate(right[k] * left[j].subs(x, y), (y, 0, 1)))
            values = [sp.simplify(v) for v, multiplicity in matrix.eigenvals().items() for _ in range(multiplicity)]
    except SymbolicTimeout:
        return None
    return [v for v in values if v != 0]


def graph_critical_coupling(g: sp.Expr, top_eigenvalue: sp.Expr) -> sp.Expr:
    """K_c = 2/(π g(0) μ_max) on a graphon whose operator's largest eigenvalue is μ_max (population normalisation)."""
    return sp.simplify(critical_coupling(g) / top_eigenvalue)


def locking_coupling(frequencies: sp.Expr | list) -> tuple[sp.Expr, sp.Symbol]:
    """(K(u), u): the coupling at which a locked state has K r = u, K(u) = u/S(u), S(u) = (1/N) Σ √(1 − (ω_i/u)²).

    Locked oscillators sit at sin(θ_i − ψ) = ω_i/u and r = (1/N) Σ cos(θ_i − ψ);
    K_L is the least K(u) over u ≥ max|ω_i| (ω centred).
    """
    frequencies = list(frequencies)
    mean_cos = sum(FORMULAS["locked_cosine"].subs(OMEGA, w) for w in frequencies) / len(frequencies)
    return FORMULAS["locking_coupling"].subs(MEAN_LOCKED_COSINE, mean_cos), KR
