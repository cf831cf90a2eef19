r"""Mean-field limits of training two-layer networks, and the Kuramoto form of circle features.

**The particle picture** (Mei, Montanari & Nguyen 2018, PNAS 115 E7665).  A two-layer network
ŷ(x; θ) = (1/N) Σ_i σ*(x; θ_i) with the square loss has the risk

.. math::  R_N(θ) = E[(y − ŷ)^2] = R_\# + \frac2N \sum_i V(θ_i) + \frac1{N^2} \sum_{i,j} U(θ_i, θ_j),

V(θ) = −E[y σ*(x; θ)], U(θ, θ′) = E[σ*(x; θ)σ*(x; θ′)], R_# = E[y²].  SGD with one fresh sample a step,
θ_i ← θ_i + 2s_k (y_k − ŷ(x_k)) ∇_θσ*(x_k; θ_i) and s_k = εξ(kε), follows in expectation, as ε → 0, the
gradient flow

.. math::  \dot θ_i = −2ξ(t) \Big[ ∇V(θ_i) + \frac1N \sum_j ∇_1 U(θ_i, θ_j) \Big] = −N ξ(t)\, ∇_{θ_i} R_N,

whose empirical measure solves ∂_tρ = 2ξ∇·(ρ∇Ψ), Ψ(θ; ρ) = V(θ) + ∫U(θ, θ′) dρ(θ′) (:func:`particle_velocity`
derives the flow for a model given as expressions).

**Circle features are Kuramoto oscillators.**  For x ~ U[0, 2π), features σ*(x; θ) = φ(x − θ) with φ
2π-periodic and a teacher y = c φ(x − θ*): U(θ, θ′) = C(θ − θ′) and V(θ) = −c C(θ − θ*), C(Δ) = E[φ(u)φ(u + Δ)]
the autocorrelation of φ (even, largest at 0).  With Γ = −C′ (odd), the flow is

.. math::  \dot θ_i = \frac{K}{N} \sum_j Γ(θ_j − θ_i) − K_p\, Γ(θ_i − θ^*), \qquad K = −2ξ,\ K_p = 2ξc,

a Kuramoto model of identical oscillators (Kuramoto 1975) with pinning toward θ*.  Its coupling is repulsive:
K Γ′(0) = −2ξ E[φ′²] < 0, whatever φ, so the features spread rather than collapse.  For φ = √2 cos the risk is
|c e^{iθ*} − Z|² in the order parameter Z = (1/N)Σe^{iθ_j} (:func:`cosine_risk`), minimal at r = |Z| = min(c, 1).

**Gaussian inputs** (:func:`two_layer_model`).  For x ~ N(0, I_d) and σ*(x; w) = σ(⟨w, x⟩), ⟨w, x⟩ and ⟨w′, x⟩ are
jointly Gaussian with variances |w|², |w′|² and covariance ⟨w, w′⟩, so U(w, w′) = E[σ(a u)σ(b v)] at a = |w|,
b = |w′|, ρ = ⟨w, w′⟩/(ab) with u, v standard and correlated ρ — derived by the Gaussian engine
(:func:`dyncheck.theory.gaussian.expect`); for σ = erf it is (2/π) arcsin(2⟨w, w′⟩/√((1 + 2|w|²)(1 + 2|w′|²))).
A teacher y = Σ_k c_k σ(⟨w*_k, x⟩) gives V(w) = −Σ_k c_k U(w, w*_k) and R_# = Σ_{k,l} c_k c_l U(w*_k, w*_l).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from dyncheck.theory.errors import UsageError
from dyncheck.theory.symbols import DELTA_ANGLE, LEARNING_RATE_SCALE, PSI, TEACHER_ANGLE, TEACHER_SCALE, THETA, R, U
from dyncheck.theory.symbols import Z as Z_SYMBOL
from dyncheck.theory.timelimit import SymbolicTimeout, time_limit

__all__ = [
    "CircleModel",
    "TwoLayerModel",
    "balance_rate",
    "KURAMOTO_COUPLING",
    "PINNING_STRENGTH",
    "circle_model",
    "cosine_risk",
    "kuramoto_form",
    "linear_in_harmonics",
    "particle_velocity",
    "two_layer_model",
]

#: The Kuramoto form's coupling K and pinning strength K_p (what :func:`particle_velocity` derives; the claim checks it).
KURAMOTO_COUPLING = -2 * LEARNING_RATE_SCALE
PINNING_STRENGTH = 2 * LEARNING_RATE_SCALE * TEACHER_SCALE
#: CPU seconds allowed to integrate one autocorrelation.
_SYMBOLIC_BUDGET_S = 20.0


def linear_in_harmonics(expr: sp.Expr) -> sp.Expr:
    """Products and powers of sines and cosines rewritten as sums of sin(kθ), cos(kθ) (fu's TR8), expanded."""
    from sympy.simplify.fu import TR8

    return sp.expand(TR8(sp.expand(expr)))


def _circle_mean(expr: sp.Expr) -> sp.Expr:
    """(1/2π) ∫₀^{2π} expr du, expanded into products of sines and cosines first (under a CPU budget)."""
    try:
        with time_limit(_SYMBOLIC_BUDGET_S):
            mean = sp.integrate(sp.expand(sp.expand_trig(expr)), (U, 0, 2 * sp.pi)) / (2 * sp.pi)
            if mean.has(sp.Integral):
                raise UsageError(f"no closed form for the circle average of {expr}")
            return linear_in_harmonics(sp.simplify(mean))
    except SymbolicTimeout:
        raise UsageError(f"the circle average of {expr} took more than {_SYMBOLIC_BUDGET_S:g} s of CPU time") from None


@dataclass(frozen=True)
class CircleModel:
    """Features φ(x − θ) on the circle: the autocorrelation C(Δ), Γ = −C′, V and U, and the derived velocity."""

    phi: sp.Expr  # in u
    autocorrelation: sp.Expr  # C(Δ)
    coupling_function: sp.Expr  # Γ(Δ) = −C′(Δ)
    V: sp.Expr  # in θ, θ*, c
    U: sp.Expr  # in θ, θ′ = θ + Δ… given as C(θ − θ′) with θ′ the symbol θ_2
    slope_at_zero: sp.Expr  # Γ′(0) = E[φ′²] > 0
    harmonics: tuple  # ((k, γ_k), …) with Γ(Δ) = Σ γ_k sin kΔ (Daido's form), checked equal to Γ

    @property
    def repulsive(self) -> bool:
        """K Γ′(0) < 0 with K = −2ξ: true whenever φ is not constant."""
        return bool(self.slope_at_zero > 0)


@functools.lru_cache(maxsize=32)
def circle_model(phi: sp.Expr) -> CircleModel:
    """The circle model of the feature φ(u) (an expression in ``u``, 2π-periodic; a trigonometric polynomial
    gives exact averages)."""
    if phi.free_symbols - {U}:
        raise UsageError(f"the feature may use only u, not {', '.join(sorted(map(str, phi.free_symbols - {U})))}")
    if sp.simplify(phi.subs(U, U + 2 * sp.pi) - phi) != 0:
        raise UsageError(f"the feature {phi} is not 2π-periodic")
    autocorrelation = _circle_mean(phi * phi.subs(U, U + DELTA_ANGLE))
    coupling = linear_in_harmonics(-sp.diff(autocorrelation, DELTA_ANGLE))
    second = sp.Symbol("theta_2", real=True)
    single = -TEACHER_SCALE * autocorrelation.subs(DELTA_ANGLE, THETA - TEACHER_ANGLE)
    pair = autocorrelation.subs(DELTA_ANGLE, THETA - second)
    slope = sp.simplify(sp.diff(coupling, DELTA_ANGLE).subs(DELTA_ANGLE, 0))
    return CircleModel(phi, autocorrelation, coupling, single, pair, slope, _sine_harmonics(coupling))


def _sine_harmonics(coupling: sp.Expr) -> tuple:
    """Γ as Σ γ_k sin(kΔ): the coefficients of its expanded sine terms, kept only if they rebuild Γ exactly
    (Γ = −C′ is odd, so a trigonometric-polynomial feature gives sines alone)."""
    terms = {}
    for term in sp.Add.make_args(sp.expand(coupling)):
        sines = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.sin)]
        if len(sines) != 1:
            return ()
        multiple = sp.simplify(sines[0].args[0] / DELTA_ANGLE)
        if not (multiple.is_Integer and multiple > 0):
            return ()
        terms[int(multiple)] = terms.get(int(multiple), 0) + term / sines[0]
    rebuilt = sum(c * sp.sin(k * DELTA_ANGLE) for k, c in terms.items())
    return tuple(sorted(terms.items())) if sp.simplify(rebuilt - coupling) == 0 else ()


def particle_velocity(model: CircleModel, others: int) -> tuple[sp.Expr, list[sp.Symbol]]:
    """θ̇_1 = −2ξ[∇V(θ_1) + (1/N)Σ_j ∇_1U(θ_1, θ_j)] for N = ``others`` + 1 particles, derived from V and U
    (the symbols θ_1 … θ_N returned beside it)."""
    angles = list(sp.symbols(f"theta_1:{others + 2}", real=True))
    second = sp.Symbol("theta_2", real=True)
    n = len(angles)
    gradient_v = sp.diff(model.V, THETA).subs(THETA, angles[0])
    gradient_u = sum(sp.diff(model.U, THETA).subs({THETA: angles[0], second: theta}, simultaneous=True) for theta in angles)
    return -2 * LEARNING_RATE_SCALE * (gradient_v + gradient_u / n), angles


def kuramoto_form(model: CircleModel, angles: list, coupling: sp.Expr = KURAMOTO_COUPLING) -> sp.Expr:
    """θ̇_1 = (K/N)Σ_j Γ(θ_j − θ_1) − K_p Γ(θ_1 − θ*) for the particles ``angles`` (θ_1 first), K = ``coupling``."""
    gamma = sp.Lambda(DELTA_ANGLE, model.coupling_function)
    return coupling / len(angles) * sum(gamma(theta - angles[0]) for theta in angles) - PINNING_STRENGTH * gamma(angles[0] - TEACHER_ANGLE)


@functools.cache
def cosine_risk() -> tuple[sp.Expr, sp.Expr]:
    """(E_x[(y − ŷ)²] for φ = √2 cos with ŷ = √2 Re(e^{iu} Z̄), Z = r e^{iψ}, and the same as |c e^{iθ*} − Z|²), both
    in c, θ*, r, ψ: their difference simplifies to 0."""
    r, psi = R, PSI
    teacher = TEACHER_SCALE * sp.sqrt(2) * sp.cos(U - TEACHER_ANGLE)
    network = sp.sqrt(2) * r * sp.cos(U - psi)  # (1/N)Σ√2 cos(u − θ_j) = √2 Re(e^{iu} Z̄) = √2 r cos(u − ψ)
    risk = _circle_mean((teacher - network) ** 2)
    distance = sp.expand((TEACHER_SCALE * sp.cos(TEACHER_ANGLE) - r * sp.cos(psi)) ** 2 + (TEACHER_SCALE * sp.sin(TEACHER_ANGLE) - r * sp.sin(psi)) ** 2)
    return risk, distance


@dataclass(frozen=True)
class TwoLayerModel:
    """ŷ(x) = α Σ_i σ(⟨w_i, x⟩) on x ~ N(0, I_d) against y = Σ_k c_k σ(⟨w*_k, x⟩): the risk's V, U and R_#, in closed form.

    ``first`` and ``second`` are the components of w and w′; ``U`` is in both, ``V`` in ``first``; ``kernel`` is the
    engine's E[σ(a u)σ(b v)] in a, b > 0 and the correlation ρ, before the substitution."""

    activation: sp.Expr  # in z
    dimension: int
    teacher: tuple  # ((c_k, (w*_k components …)), …)
    first: tuple
    second: tuple
    kernel: sp.Expr
    U: sp.Expr
    V: sp.Expr
    baseline: sp.Expr  # R_# = E[y²]

    def pair(self, left, right) -> sp.Expr:
        """U(w, w′) at the given component vectors."""
        return _pair_at(self.U, self.first, self.second, left, right)


@functools.lru_cache(maxsize=16)
def two_layer_model(activation: sp.Expr, teacher: tuple) -> TwoLayerModel:
    """The model of features σ(⟨w, x⟩) (``activation`` in z), x ~ N(0, I_d), and the teacher ((c_k, w*_k), …) whose
    w*_k have d components (rationals keep V, U and R_# exact): E[σ(a u)σ(b v)] by the Gaussian engine, then
    a = |w|, b = |w′|, ρ = ⟨w, w′⟩/(a b).  A :class:`UsageError` when the engine finds no closed form."""
    from dyncheck.theory.gaussian import expect
    from dyncheck.theory.symbols import RHO, Z, V as V_SYMBOL

    if not teacher:
        raise UsageError("the teacher needs at least one neuron (c, w*)")
    dimension = len(teacher[0][1])
    if dimension < 1 or any(len(w) != dimension for _, w in teacher):
        raise UsageError("every teacher neuron needs the same number (≥ 1) of weights")
    if activation.free_symbols - {Z}:
        raise UsageError(f"the activation may depend on z only, not on {', '.join(sorted(map(str, activation.free_symbols - {Z})))}")
    a, b = sp.symbols("a b", positive=True)
    derivation = expect(activation.subs(Z, a * U) * activation.subs(Z, b * V_SYMBOL), (U, V_SYMBOL), RHO)
    if not derivation.closed:
        raise UsageError(f"no closed form for E[σ(a u)σ(b v)] with σ = {activation}: the mean-field risk needs one")
    first = sp.symbols(f"w_1:{dimension + 1}", real=True)
    second = sp.symbols(f"wp_1:{dimension + 1}", real=True)
    norm_first = sp.sqrt(sum(c**2 for c in first))
    norm_second = sp.sqrt(sum(c**2 for c in second))
    inner = sum(p * q for p, q in zip(first, second))
    pair = sp.simplify(derivation.value.subs({a: norm_first, b: norm_second, RHO: inner / (norm_first * norm_second)}, simultaneous=True))
    _check_generic_gradient(pair, first, second)
    neurons = tuple((sp.nsimplify(c), tuple(sp.nsimplify(x) for x in w)) for c, w in teacher)

    def at(left, right):
        return _pair_at(pair, first, second, left, right)

    single = -sum(c * at(first, w) for c, w in neurons)
    baseline = sp.simplify(sum(c * d * at(w, v) for c, w in neurons for d, v in neurons))
    return TwoLayerModel(activation, dimension, neurons, first, second, derivation.value, pair, sp.simplify(single), baseline)


def _pair_at(pair: sp.Expr, first: tuple, second: tuple, left, right) -> sp.Expr:
    """U(w, w′) at the component vectors ``left`` and ``right``."""
    return pair.subs({**dict(zip(first, left)), **dict(zip(second, right))}, simultaneous=True)


def _check_generic_gradient(pair: sp.Expr, first: tuple, second: tuple) -> None:
    """Refuse a closed form whose gradient in w is not finite at generic points and on the diagonal w′ = w (in d = 1
    a ReLU's correlation is ±1 everywhere, and asin(w/|w|) differentiates to 0/0; in d ≥ 2 its √(1 − ρ²) does at
    ρ = 1): the particle flow needs ∇₁U there, in generated code."""
    import random

    chooser = random.Random(0)
    for trial in range(4):
        point = {c: sp.Rational(chooser.randint(-9, 9) or 1, 7) for c in first + second}
        if trial == 3:  # on the diagonal w′ = w, where the network's self-interaction U(w_i, w_i) is evaluated
            point.update({b: point[a] for a, b in zip(first, second)})
        for c in first:
            value = sp.N(sp.diff(pair, c).subs(point), 15)
            if not value.is_finite or not value.is_real:
                raise UsageError(f"the closed form U = {pair} has no finite gradient at generic weights (∂U/∂{c} = {value} at {point}); the particle flow needs one")


def balance_rate(activation: sp.Expr | None = None, dimension: int = 3) -> sp.Expr:
    """d/dt(a² − |w|²) for one feature a·σ(⟨w, x⟩) (σ = ``activation`` in z, default relu) at one sample under the gradient flow of any loss ℓ(ŷ)
    (ℓ′ = g undefined): 2aȧ − 2⟨w, ẇ⟩ with ȧ = −g ∂_a, ẇ = −g ∇_w and relu(u) = u H(u), each term c(w, x)δ(u) of
    the result replaced by c on the hyperplane u = 0 (the distribution c δ(u) is c|_{u=0} δ(u)).  It is 0: a² − |w|²
    is conserved by each neuron of a two-layer ReLU network, whatever the loss, the samples or the other neurons
    (Euler's identity σ(u) = uσ′(u) of the positively 1-homogeneous σ, so that θ = (a, w) ↦ a σ(⟨w, x⟩) is
    2-homogeneous), and the sign of a balanced a never changes.  Not for σ = tanh: −2a g (tanh u − u tanh′u)."""
    a = sp.Symbol("a", real=True)
    w = sp.symbols(f"w1:{dimension + 1}", real=True)
    x = sp.symbols(f"x1:{dimension + 1}", real=True)
    g = sp.Function("g")
    pre = sum(p * q for p, q in zip(w, x))
    sigma = (sp.Max(Z_SYMBOL, 0) if activation is None else activation).rewrite(sp.Heaviside)
    feature = a * sigma.subs(Z_SYMBOL, pre)
    rate = sp.expand(2 * a * (-g(feature) * sp.diff(feature, a)) - 2 * sum(c * (-g(feature) * sp.diff(feature, c)) for c in w))
    on_plane = {w[0]: sp.solve(pre, w[0])[0]}
    total = sp.Integer(0)
    for term in sp.Add.make_args(rate):
        deltas = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.DiracDelta)]
        total += sp.simplify((term / deltas[0]).subs(on_plane)) * deltas[0] if deltas else term
    return sp.simplify(total)
