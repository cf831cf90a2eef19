r"""Mean-field signal propagation in deep fully-connected random networks.

A network with pre-activations :math:`h^{l+1} = W^{l+1}\phi(h^l) + b^{l+1}`,
:math:`W_{ij} \sim \mathcal N(0, \sigma_w^2/N)` and :math:`b_i \sim \mathcal N(0, \sigma_b^2)`,
propagates, as the width :math:`N \to \infty`, the variance :math:`q_l` of a
pre-activation and the correlation :math:`c_l` between the pre-activations of
two inputs by deterministic maps (Poole et al. 2016, *Exponential
expressivity in deep neural networks through transient chaos*; Schoenholz et
al. 2017, *Deep information propagation*; reviewed by Liu & Theodorou 2019 as
"DNNs as discrete-time dynamical systems"):

.. math::

    q_{l+1} = \sigma_w^2\,\mathbb E_z[\phi(\sqrt{q_l}z)^2] + \sigma_b^2, \qquad
    c_{l+1} = \frac{\sigma_w^2\,\mathbb E[\phi(\sqrt{q}\,u)\phi(\sqrt{q}\,v)] + \sigma_b^2}{q},

where the second is taken at the fixed point :math:`q = q^*` (both inputs have
reached it) and :math:`(u, v)` is a standard normal pair with correlation
:math:`c_l`.  Everything here is derived from the activation's SymPy
expression by the Gaussian engine (:func:`theory.gaussian.expect`): closed
forms when it finds them (ReLU family, erf, hard tanh, linear), unevaluated
expectations otherwise (tanh, sigmoid, GELU, …), which :mod:`numerics.meanfield`
evaluates.

Derivatives of kinked activations are distributional
(:func:`theory.activations.derivative`): relu′ = H, relu″ = δ.

Assumptions: i.i.d. weights and biases as above, infinite width, both inputs
at the variance fixed point for the correlation map (Schoenholz et al. 2017,
§2), and the gradient-independence assumption for the backward pass.

Every composite formula (the maps, χ₁, χ_c, the depth scales, the critical
line, the Jacobian spectrum) is written once, in :data:`FORMULAS`, over the
expectations as undefined functions (:data:`EXPECTATIONS`).
:meth:`MeanField.instantiate` binds them to one activation's derivations;
:mod:`dyncheck.numerics.meanfield` compiles the same formulas with the
expectations bound to generated closed forms, quadrature or Chebyshev tables.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sympy as sp

from dyncheck.theory.activations import derivative
from dyncheck.theory.errors import UsageError
from dyncheck.theory.gaussian import Derivation, expect
from dyncheck.theory.symbols import C, DEPTH, Q, RHO, SIGMA_B2, SIGMA_W2, U, V, X, Z
from dyncheck.theory.timelimit import SymbolicTimeout, time_limit

__all__ = [
    "EXPECTATIONS",
    "FORMULAS",
    "SLOPE",
    "WEIGHT_VARIANCE",
    "MeanField",
    "CriticalLine",
    "JacobianSpectrum",
    "WEIGHT_ENSEMBLES",
    "mean_field",
    "weight_variance",
]


#: CPU seconds each expectation may take in the engine.  The strategies that
#: succeed (moments, Price's theorem, and ``integrate`` for E[erf″ erf]) take
#: up to 0.7 s of CPU time for a registered activation when SymPy's own caches
#: are cold; 5 s keeps a factor 7 for slower processors.  The budget is CPU
#: time (theory.timelimit), so a busy machine does not exhaust it; tanh-like
#: integrands are outside ``integrate``'s scope and spend none of it.
EXPECTATION_TIME_LIMIT = 5.0
#: Seconds allowed to solve the fixed-point equation in closed form.
SOLVE_TIME_LIMIT = 5.0

#: Relative variance v = m₂/m₁² − 1 of the spectrum of σ_w⁻² W Wᵀ for a square
#: weight matrix, N → ∞: Marchenko–Pastur with ratio 1 (Gaussian) has v = 1; a
#: scaled orthogonal matrix has every eigenvalue 1, v = 0 (Pennington et al. 2017,
#: where v = −s₁, the first coefficient of the S-transform).
WEIGHT_ENSEMBLES = {"gaussian": sp.S.One, "orthogonal": sp.S.Zero}
def weight_variance(ensemble: str) -> sp.Expr:
    """v_W of a weight ensemble's name (:data:`WEIGHT_ENSEMBLES`)."""
    try:
        return WEIGHT_ENSEMBLES[ensemble]
    except KeyError:
        raise UsageError(f"unknown weight ensemble {ensemble!r}; choose from {', '.join(WEIGHT_ENSEMBLES)}") from None


#: v_W, the relative variance of the weights' spectrum, in :data:`FORMULAS` (see :data:`WEIGHT_ENSEMBLES`).
WEIGHT_VARIANCE = sp.Symbol("v_W", nonnegative=True)

#: The Gaussian expectations of the activation φ, as undefined functions of q (and of the
#: correlation c), by the name of the :class:`MeanField` property that derives each:
#: E[φ(√q z)²], E[φ′(√q z)²], E[φ″(√q z)φ(√q z)], E[φ′(√q z)⁴], E[φ(√q u)φ(√q v)], E[φ′(√q u)φ′(√q v)].
EXPECTATIONS = {
    name: sp.Function(name)
    for name in ("second_moment", "slope_moment", "curvature_moment", "slope_fourth_moment", "kernel", "slope_kernel")
}
_V, _MU1, _CURVATURE, _MU2, _KERNEL, _SLOPE_KERNEL = EXPECTATIONS.values()


#: The slope χ of a map at its fixed point, in the depth scale ξ = −1/ln χ.
SLOPE = sp.Symbol("chi", positive=True)


def _depth_scale(slope: sp.Expr) -> sp.Expr:
    return -1 / sp.log(slope)


_Q_MAP = SIGMA_W2 * _V(Q) + SIGMA_B2
_CHI_1 = SIGMA_W2 * _MU1(Q)
_CHI_C = SIGMA_W2 * _SLOPE_KERNEL(Q, C)
_Q_MAP_SLOPE = SIGMA_W2 * (_MU1(Q) + _CURVATURE(Q))
_JACOBIAN_MEAN = _CHI_1**DEPTH

#: The composite formulas of mean-field theory, each written once, in q, c, σ_w², σ_b², L and
#: v_W over :data:`EXPECTATIONS` (see :class:`MeanField` for each one's meaning and source):
#:
#: * ``q_map`` = σ_w² E[φ²] + σ_b²; ``c_map`` = (σ_w² E[φ(√q u)φ(√q v)] + σ_b²)/q (at q = q*);
#:   ``c_map_general`` = (σ_w² E[φ(√q_l u)φ(√q_l v)] + σ_b²)/q_{l+1}, the correlation map of two
#:   inputs of variance q_l = q, not yet at q*;
#: * ``fixed_point_residual`` = q-map − q and its slope ``q_map_slope`` − 1; ``affine_fixed_point`` =
#:   σ_b²/(1 − q-map slope), the fixed point of an affine q-map (:meth:`MeanField.fixed_point`);
#: * ``chi_1`` = σ_w² E[φ′²], ``chi_c`` = σ_w² E[φ′(√q u)φ′(√q v)], ``q_map_slope`` = σ_w²(E[φ′²] + E[φ″φ]);
#: * ``correlation_residual`` = c-map − c and its slope ``chi_c`` − 1 (Price's theorem);
#: * ``depth_scale`` = −1/ln χ of a slope χ (:data:`SLOPE`): ``xi_q`` = −1/ln(q-map slope),
#:   ``xi_c`` = −1/ln χ_c, ``xi_gradient`` = −1/ln χ₁;
#: * ``critical_sigma_w2`` = 1/E[φ′²], ``critical_sigma_b2`` = q − E[φ²]/E[φ′²]: the line χ₁ = 1;
#: * ``jacobian_mean`` = χ₁^L, ``jacobian_variance`` = χ₁^{2L} L (E[φ′⁴]/E[φ′²]² − 1 + v_W).
FORMULAS = {
    "q_map": _Q_MAP,
    "c_map": (SIGMA_W2 * _KERNEL(Q, C) + SIGMA_B2) / Q,
    "c_map_general": (SIGMA_W2 * _KERNEL(Q, C) + SIGMA_B2) / _Q_MAP,
    "fixed_point_residual": _Q_MAP - Q,
    "fixed_point_residual_slope": _Q_MAP_SLOPE - 1,
    "affine_fixed_point": SIGMA_B2 / (1 - _Q_MAP_SLOPE),
    "chi_1": _CHI_1,
    "chi_c": _CHI_C,
    "q_map_slope": _Q_MAP_SLOPE,
    "correlation_residual": (SIGMA_W2 * _KERNEL(Q, C) + SIGMA_B2) / Q - C,
    "correlation_residual_slope": _CHI_C - 1,
    "depth_scale": _depth_scale(SLOPE),
    "xi_q": _depth_scale(_Q_MAP_SLOPE),
    "xi_c": _depth_scale(_CHI_C),
    "xi_gradient": _depth_scale(_CHI_1),
    "critical_sigma_w2": 1 / _MU1(Q),
    "critical_sigma_b2": Q - _V(Q) / _MU1(Q),
    "jacobian_mean": _JACOBIAN_MEAN,
    "jacobian_variance": _JACOBIAN_MEAN**2 * DEPTH * (_MU2(Q) / _MU1(Q) ** 2 - 1 + WEIGHT_VARIANCE),
}


@dataclass(frozen=True)
class CriticalLine:
    r"""The order–chaos boundary χ₁ = 1, parametrised by the fixed point q:

    .. math::  \sigma_w^2(q) = 1/\mathbb E[\phi'(\sqrt q z)^2], \qquad
               \sigma_b^2(q) = q - \sigma_w^2(q)\,\mathbb E[\phi(\sqrt q z)^2],

    valid where σ_b²(q) ≥ 0 (the construction used in the mean-field CNN demo
    of Xiao et al. 2018).  ``closed`` says whether both are closed forms.
    """

    sigma_w2: sp.Expr
    sigma_b2: sp.Expr
    closed: bool

    def latex(self) -> str:
        return (
            rf"\sigma_w^2(q) = {sp.latex(self.sigma_w2)}, \qquad "
            rf"\sigma_b^2(q) = {sp.latex(self.sigma_b2)}, \qquad q > 0,\ \sigma_b^2(q) \ge 0"
        )

    @property
    def is_point(self) -> bool:
        """True when the line degenerates to one point (σ_w², σ_b²) for every q (the ReLU family, linear)."""
        return self.closed and not self.sigma_w2.has(Q) and sp.simplify(self.sigma_b2) == 0


@dataclass(frozen=True)
class JacobianSpectrum:
    r"""Moments of the spectrum of :math:`JJ^\top` for the input–output Jacobian
    :math:`J = \prod_l D_l W_l` of depth L at the fixed point q*.

    Free probability (Pennington, Schoenholz & Ganguli 2017, *Resurrecting the
    sigmoid*, §2.4): the relative variance v = m₂/m₁² − 1 is additive over free
    factors, each layer contributing D² (moments μ_k = E[φ′(√q* z)^{2k}]) and
    σ_w² W Wᵀ (relative variance v_W).  Hence

    .. math::  m_1 = \chi_1^L, \qquad
               \sigma^2_{JJ^\top} = m_1^2\, L\left(\frac{\mu_2}{\mu_1^2} - 1 + v_W\right),

    with v_W = 1 for Gaussian and 0 for orthogonal weights; at criticality this
    is the paper's L(μ₂/μ₁² − 1 − s₁).  Assumes N → ∞ and inputs at q*.
    """

    mean: sp.Expr  # m₁, the mean squared singular value
    variance: sp.Expr  # σ², the variance of the squared singular values
    ensemble: str


class MeanField:
    r"""The mean-field theory of one activation φ (an expression in :data:`theory.activations.X`).

    Each Gaussian expectation is derived once, on first use, and kept with its
    provenance (a :class:`theory.gaussian.Derivation`); the maps and
    depth scales are SymPy expressions in :data:`Q`, :data:`C`,
    :data:`SIGMA_W2`, :data:`SIGMA_B2`, closed form where every expectation in
    them is.
    """

    def __init__(self, phi: sp.Expr, name: str | None = None, *, time_limit_s: float = EXPECTATION_TIME_LIMIT):
        if phi.free_symbols - {X}:
            extra = ", ".join(sorted(str(s) for s in phi.free_symbols - {X}))
            raise UsageError(f"the activation may depend on x only, not on {extra}")
        if not phi.has(X):
            raise UsageError("the activation is constant: it propagates no signal")
        self.phi = phi
        self.name = name or str(phi)
        self.time_limit_s = time_limit_s
        self.phi_prime = derivative(phi, X, 1)
        self.phi_second = derivative(phi, X, 2)

    def __repr__(self):
        return f"MeanField({self.name})"

    # -- the Gaussian expectations -------------------------------------------
    def _expect_1d(self, integrand: sp.Expr) -> Derivation:
        return expect(integrand.subs(X, sp.sqrt(Q) * Z), Z, time_limit_s=self.time_limit_s)

    def _expect_2d(self, f: sp.Expr, g: sp.Expr) -> Derivation:
        pair = f.subs(X, sp.sqrt(Q) * U) * g.subs(X, sp.sqrt(Q) * V)
        return expect(pair, (U, V), RHO, time_limit_s=self.time_limit_s)

    @functools.cached_property
    def second_moment(self) -> Derivation:
        """E[φ(√q z)²]."""
        return self._expect_1d(self.phi**2)

    @functools.cached_property
    def slope_moment(self) -> Derivation:
        """μ₁ = E[φ′(√q z)²]."""
        return self._expect_1d(self.phi_prime**2)

    @functools.cached_property
    def slope_fourth_moment(self) -> Derivation:
        """μ₂ = E[φ′(√q z)⁴] (the Jacobian spectrum's variance)."""
        return self._expect_1d(self.phi_prime**4)

    @functools.cached_property
    def curvature_moment(self) -> Derivation:
        """E[φ″(√q z) φ(√q z)] (the depth scale ξ_q)."""
        return self._expect_1d(self.phi_second * self.phi)

    @functools.cached_property
    def kernel(self) -> Derivation:
        """E[φ(√q u) φ(√q v)] for a standard normal pair with correlation ρ (= c)."""
        return self._expect_2d(self.phi, self.phi)

    @functools.cached_property
    def slope_kernel(self) -> Derivation:
        """E[φ′(√q u) φ′(√q v)] at correlation ρ (= c)."""
        return self._expect_2d(self.phi_prime, self.phi_prime)

    def instantiate(self, formula: sp.Expr) -> sp.Expr:
        """``formula`` (over :data:`EXPECTATIONS`) with each expectation replaced by its derivation for this φ."""

        for name, function in EXPECTATIONS.items():
            if formula.has(function):
                value = getattr(self, name).value
                if name in ("kernel", "slope_kernel"):
                    formula = formula.replace(function, lambda q, c, v=value: v.subs({Q: q, RHO: c}, simultaneous=True))
                else:
                    formula = formula.replace(function, lambda q, v=value: v.subs(Q, q))
        return formula

    # -- the maps ------------------------------------------------------------
    @property
    def q_map(self) -> sp.Expr:
        r"""q_{l+1} = σ_w² E[φ(√q_l z)²] + σ_b², as an expression in :data:`Q`."""
        return self.instantiate(FORMULAS["q_map"])

    @property
    def c_map(self) -> sp.Expr:
        r"""c_{l+1} = (σ_w² E[φ(√q u)φ(√q v)] + σ_b²)/q at correlation c_l = :data:`C` and q = q*."""
        return self.instantiate(FORMULAS["c_map"])

    @property
    def fixed_point_equation(self) -> sp.Eq:
        """q = q-map(q): the equation of q*."""
        return sp.Eq(Q, self.q_map)

    @property
    def chi_1(self) -> sp.Expr:
        r"""χ₁ = σ_w² E[φ′(√q z)²] = ∂c_{l+1}/∂c_l at c = 1 (to be taken at q = q*)."""
        return self.instantiate(FORMULAS["chi_1"])

    @property
    def chi_c(self) -> sp.Expr:
        r"""χ_c = σ_w² E[φ′(√q u)φ′(√q v)] at correlation :data:`C` (to be taken at q*, c*).

        By Price's theorem ∂E[φ(√q u)φ(√q v)]/∂c = q E[φ′φ′], so χ_c is the
        slope of the c-map; at c = 1 it is χ₁.
        """
        return self.instantiate(FORMULAS["chi_c"])

    @property
    def q_map_slope(self) -> sp.Expr:
        r"""χ₁ + σ_w² E[φ″(√q z)φ(√q z)], the slope ∂q_{l+1}/∂q_l of the q-map.

        Gaussian integration by parts gives d/dq E[φ(√q z)²] = E[φ′²] + E[φ″φ],
        so this equals ∂(q-map)/∂q (:mod:`proofs_check.claims.meanfield` checks it).
        """
        return self.instantiate(FORMULAS["q_map_slope"])

    @property
    def xi_q(self) -> sp.Expr:
        r"""ξ_q = −1/ln(χ₁ + σ_w² E[φ″φ]): the depth over which q_l approaches q*."""
        return self.instantiate(FORMULAS["xi_q"])

    @property
    def xi_c(self) -> sp.Expr:
        r"""ξ_c = −1/ln χ_c: the depth over which c_l approaches c* (Schoenholz et al. 2017, eq. 9)."""
        return self.instantiate(FORMULAS["xi_c"])

    @property
    def gradient_recursion(self) -> sp.Expr:
        r"""The backward variance map q̃_l = χ₁ q̃_{l+1} (equal widths).

        The variance of ∂E/∂h^l obeys q̃_l = q̃_{l+1} (N_{l+1}/N_l) χ₁ under
        the gradient-independence assumption (Schoenholz et al. 2017, eq. 14);
        ``Symbol('qt')`` stands for q̃_{l+1}.
        """
        return sp.Symbol("qt", positive=True) * self.chi_1

    @property
    def xi_gradient(self) -> sp.Expr:
        r"""ξ_∇ = −1/ln χ₁: gradients vanish (χ₁ < 1) or explode (χ₁ > 1) as exp(∓L/|ξ_∇|)."""
        return self.instantiate(FORMULAS["xi_gradient"])

    # -- fixed points, the critical line, spectra -----------------------------
    @property
    def is_homogeneous(self) -> bool:
        """True when E[φ(√q z)²] = v·q exactly (the ReLU family and linear): the q-map is affine."""
        m = self.second_moment
        return m.closed and not sp.simplify(m.value / Q).has(Q)

    def fixed_point(self) -> sp.Expr | None:
        r"""q* in closed form, or None.

        For an affine q-map (:attr:`is_homogeneous`, q' = σ_w² v q + σ_b²) the
        fixed point is q* = σ_b²/(1 − σ_w² v), which exists only for σ_w² v < 1;
        for ReLU, q* = σ_b²/(1 − σ_w²/2).  Otherwise ``sympy.solve`` is tried
        under a time limit.
        """
        if not self.second_moment.closed:
            return None
        if self.is_homogeneous:
            v = sp.simplify(self.second_moment.value / Q)
            return SIGMA_B2 / (1 - SIGMA_W2 * v)
        try:
            with time_limit(SOLVE_TIME_LIMIT):
                roots = sp.solve(self.fixed_point_equation, Q)
        except (SymbolicTimeout, NotImplementedError):
            return None
        return roots[0] if len(roots) == 1 else None

    def critical_line(self) -> CriticalLine:
        """The critical line χ₁ = 1 parametrised by q (see :class:`CriticalLine`)."""
        if self.slope_moment.value.has(sp.DiracDelta):
            raise UsageError(f"χ₁ of {self.name} is infinite: its derivative has a Dirac delta")
        sw2 = sp.simplify(self.instantiate(FORMULAS["critical_sigma_w2"]))
        sb2 = sp.simplify(self.instantiate(FORMULAS["critical_sigma_b2"]))
        return CriticalLine(sw2, sb2, self.slope_moment.closed and self.second_moment.closed)

    def jacobian_spectrum(self, ensemble: str = "gaussian") -> JacobianSpectrum:
        """Mean and variance of the squared singular values of the depth-L Jacobian (see :class:`JacobianSpectrum`)."""
        v_w = weight_variance(ensemble)
        mean = self.instantiate(FORMULAS["jacobian_mean"])
        variance = self.instantiate(FORMULAS["jacobian_variance"]).subs(WEIGHT_VARIANCE, v_w)
        return JacobianSpectrum(mean, variance, ensemble)


@functools.lru_cache(maxsize=64)
def mean_field(phi: sp.Expr, name: str | None = None) -> MeanField:
    """The (cached) :class:`MeanField` of activation ``phi``."""
    return MeanField(phi, name)
