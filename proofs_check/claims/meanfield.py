r"""Mean-field signal propagation: critical points, the critical line, depth scales, finite networks.

Every claim is judged by at least two independent routes — an exact symbolic
route through :mod:`theory.meanfield`, a double-precision route through the
generated quadrature of :mod:`numerics.gaussian` (never the closed form it is
compared with), and, for the statements about finite networks, simulation of
real random networks with standard errors and the N^{-1/2} rate of the gap.
Each has a negative control, a plausible wrong value that the same routes must
refute.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp
from scipy.optimize import brentq

from dyncheck.numerics.gaussian import compile_expectation, expectation_mp
from dyncheck.numerics.meanfield import (
    critical_sigma_w2,
    iterate_maps,
    mean_field_state,
    simulate_network,
)
from dyncheck.proofs_check.claim import Claim, Profile, timed
from dyncheck.proofs_check.tolerances import relative_difference, tolerance
from dyncheck.proofs_check.verdicts import (
    AGREE,
    DISAGREE,
    EXACT,
    UNDECIDED,
    Evidence,
    judge_monte_carlo,
    replicate_statistics,
)
from dyncheck.theory.activations import activation
from dyncheck.theory.symbols import C, Q, SIGMA_B2, SIGMA_W2, X
from dyncheck.theory.meanfield import MeanField, mean_field

__all__ = [
    "CLAIMS",
    "CriticalPoint",
    "DepthScaleDivergence",
    "ErfCriticalLine",
    "FiniteWidthAgreement",
    "JacobianMeanSquaredSingularValue",
    "ReluCorrelationAsymptotics",
]


def _theory(name: str) -> MeanField:
    return mean_field(activation(name).expr(), name)


def _quadrature_slope_moment(theory: MeanField):
    """q ↦ E[φ′(√q z)²] by the generated quadrature (never a closed form)."""
    return compile_expectation(theory.slope_moment.expectation, (Q,))


def _quadrature_second_moment(theory: MeanField):
    return compile_expectation(theory.second_moment.expectation, (Q,))


@dataclass(frozen=True)
class CriticalPoint(Claim):
    """(σ_w², σ_b²) = ``point`` lies on the critical line χ₁ = 1 of activation ``name`` (σ_b² = 0)."""

    name: str = field(kw_only=True)

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._quadrature, candidate)]

    def _symbolic(self, sw2) -> Evidence:
        theory = _theory(self.name)
        phi0 = theory.phi.subs(X, 0)
        if theory.is_homogeneous:
            chi = theory.chi_1.subs(SIGMA_W2, sw2)
            where = "the q-map is affine and χ₁ does not depend on q"
        elif phi0 == 0:
            d = theory.phi_prime
            slope0 = (sp.limit(d, X, 0, "+") ** 2 + sp.limit(d, X, 0, "-") ** 2) / 2
            chi = sw2 * slope0
            where = "φ(0) = 0 and σ_b² = 0 make q* = 0 a fixed point, where χ₁ = σ_w² φ′(0)²"
        else:
            return Evidence("symbolic", UNDECIDED, "q* has no closed form at σ_b² = 0")
        difference = sp.simplify(chi - 1)
        details = {"chi_1": str(chi), "sigma_w2": str(sw2)}
        if difference == 0:
            return Evidence("symbolic", EXACT, f"{where}: χ₁ = {chi} = 1 exactly", details)
        return Evidence("symbolic", DISAGREE, f"{where}: χ₁ = {sp.nsimplify(chi)} ≠ 1", details)

    def _quadrature(self, sw2) -> Evidence:
        """χ₁ from the quadrature of E[φ′(√q z)²] at q → 0 (Richardson from q = 4h, 2h, h)."""
        theory = _theory(self.name)
        slope = _quadrature_slope_moment(theory)
        h = 1e-5
        s1, s2, s4 = (float(slope(np.array([k * h]))[0]) for k in (1, 2, 4))
        # S(q) = S0 + a q + b q² + …: the three-point extrapolation leaves O(h³) ≈ 1e-15
        limit = (8 * s1 - 6 * s2 + s4) / 3
        chi = float(sw2) * limit
        rtol = tolerance("double_quadrature_relative")
        details = {"q": [h, 2 * h, 4 * h], "slope_moment": [s1, s2, s4], "extrapolated": limit, "chi_1": chi, "rtol": rtol}
        if abs(chi - 1) <= rtol:
            return Evidence("double-quadrature", AGREE, f"χ₁ = {chi:.15g} at q* = 0 (|χ₁ − 1| = {abs(chi - 1):.1e})", details)
        return Evidence("double-quadrature", DISAGREE, f"χ₁ = {chi:.15g} ≠ 1 at q* = 0", details)


@dataclass(frozen=True)
class ErfCriticalLine(Claim):
    r"""The erf critical line, both of its parts: σ_w²(q) = (π/4)√(1+4q) and
    σ_b²(q) = q − (√(1+4q)/2) arcsin(2q/(1+2q)).  A candidate is the pair (σ_w²(q), σ_b²(q));
    every route judges each part and disagrees if either does."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._high_precision, candidate, profile), timed(self._numeric, candidate, profile)]

    def _symbolic(self, candidate) -> Evidence:
        sw2, sb2 = candidate
        line = _theory("erf").critical_line()
        if not line.closed:
            return Evidence("symbolic", UNDECIDED, "the engine derived no closed form")
        details = {"derived_sigma_w2": str(line.sigma_w2), "derived_sigma_b2": str(line.sigma_b2)}
        wrong = [name for name, derived, claimed in (("σ_w²", line.sigma_w2, sw2), ("σ_b²", line.sigma_b2, sb2)) if sp.simplify(derived - claimed) != 0]
        if not wrong:
            return Evidence("symbolic", EXACT, f"derived σ_w²(q) = {line.sigma_w2} and σ_b²(q) = {line.sigma_b2}", details)
        return Evidence("symbolic", DISAGREE, f"derived {' and '.join(wrong)} differ from the candidate", details)

    def _high_precision(self, candidate, profile) -> Evidence:
        """1/E[erf′(√q z)²] and q − σ_w²(q) E[erf(√q z)²] by 40-digit quadrature, against both parts."""
        sw2, sb2 = candidate
        theory = _theory("erf")
        dps = int(tolerance("high_precision_digits"))
        worst, rows = 0.0, []
        for qv in np.geomspace(1e-2, 1e2, profile.high_precision_points):
            with mpmath.workdps(dps):
                point = {Q: sp.Float(str(qv), dps)}
                slope = mpmath.re(expectation_mp(theory.slope_moment.expectation, point, dps=dps))
                second = mpmath.re(expectation_mp(theory.second_moment.expectation, point, dps=dps))
                w, b = (mpmath.mpf(str(sp.N(part.subs(point), dps))) for part in (sw2, sb2))
                quadrature_b = mpmath.mpf(str(qv)) - (1 / slope) * second
                # σ_b² is a difference q − σ_w²E[φ²]: compare on the scale of q, its larger term
                diffs = (relative_difference(1 / slope, w), float(abs(quadrature_b - b) / mpmath.mpf(str(qv))))
            rows.append({"q": float(qv), "sigma_w2": mpmath.nstr(1 / slope, 25), "sigma_b2": mpmath.nstr(quadrature_b, 25), "relative_differences": diffs})
            worst = max(worst, *diffs)
        limit = tolerance("high_precision_relative")
        outcome = AGREE if worst <= limit else DISAGREE
        return Evidence("high-precision", outcome, f"σ_w² = 1/E[erf′²] and σ_b² = q − σ_w²E[erf²] by quadrature vs the pair: worst {worst:.1e} at {len(rows)} q ({dps} digits)", {"points": rows})

    def _numeric(self, candidate, profile) -> Evidence:
        """For given σ_b², the critical σ_w² by root-finding on double-precision quadrature alone, against
        the point of the candidate's line with that σ_b² (found from the candidate's σ_b²(q))."""
        sw2, sb2 = candidate
        theory = _theory("erf")
        second, slope = _quadrature_second_moment(theory), _quadrature_slope_moment(theory)
        sb2_of_q = sp.lambdify(Q, sb2, "mpmath")
        sw2_of_q = sp.lambdify(Q, sw2, "mpmath")
        rows, worst = [], 0.0
        for bias in (0.01, 0.05, 0.1, 0.3, 1.0):
            # numeric route: χ₁(q*(σ_w²)) = 1, q* from σ_w² E[φ²] + σ_b² = q
            def chi_minus_one(w):
                q = brentq(lambda q: w * float(second(np.array([q]))[0]) + bias - q, bias, w + bias + 1, xtol=1e-15, rtol=1e-15)
                return w * float(slope(np.array([q]))[0]) - 1

            numeric = brentq(chi_minus_one, 0.5, 10.0, xtol=1e-15, rtol=1e-15)
            try:
                with mpmath.workdps(30):
                    q_line = mpmath.findroot(lambda q: sb2_of_q(q) - bias, 1.0)
                    value = sw2_of_q(q_line)
                real = mpmath.im(q_line) == 0 and mpmath.im(value) == 0 and mpmath.re(q_line) > 0
                claimed = float(mpmath.re(value)) if real else math.nan
            except (ValueError, ZeroDivisionError):  # the candidate's σ_b²(q) never takes this value
                claimed = math.nan
            diff = relative_difference(numeric, claimed) if math.isfinite(claimed) else math.inf
            rows.append({"sigma_b2": bias, "numeric_sigma_w2": numeric, "formula_sigma_w2": claimed, "relative_difference": diff})
            worst = max(worst, diff)
        # the root inherits the quadrature's 1e-12 through a slope of O(1)
        limit = 1e-10
        outcome = AGREE if worst <= limit else DISAGREE
        return Evidence("double-quadrature", outcome, f"critical σ_w² at given σ_b² by root-finding on quadrature vs the pair's point: worst {worst:.1e}", {"points": rows, "rtol": limit})


@dataclass(frozen=True)
class DepthScaleDivergence(Claim):
    """ξ_c ∝ |χ₁ − 1|^p near the critical line, with p = ``exponent``."""


    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._ordered, candidate), timed(self._chaotic, candidate, "tanh"), timed(self._chaotic, candidate, "erf")]

    def _ordered(self, p) -> Evidence:
        """Ordered side: ξ_c = −1/ln χ₁, so ln ξ_c / ln(1 − χ₁) → p as χ₁ → 1⁻."""
        eps = sp.Symbol("epsilon", positive=True)
        xi = -1 / sp.log(1 - eps)  # ξ_c at c* = 1, where χ_c = χ₁ = 1 − ε
        limit = sp.limit(sp.log(xi) / sp.log(eps), eps, 0, "+")
        if sp.simplify(limit - p) == 0:
            return Evidence("symbolic", EXACT, f"ordered side: lim ln ξ_c / ln|χ₁ − 1| = {limit}", {"limit": str(limit)})
        return Evidence("symbolic", DISAGREE, f"ordered side: the exponent is {limit}, not {p}", {"limit": str(limit)})

    def _chaotic(self, p, name) -> Evidence:
        """Chaotic side, σ_b² = 0.05: fitted slope of ln ξ_c against ln(χ₁ − 1) for χ₁ − 1 from 1e-2 to 1e-4."""
        theory = _theory(name)
        sb2 = 0.05
        critical, _ = critical_sigma_w2(theory, sb2)
        offsets = np.geomspace(1e-2, 1e-4, 5)
        state = mean_field_state(theory, critical * (1 + offsets), np.full(offsets.shape, sb2), tabulate_over_grid=False)
        slope = float(np.polyfit(np.log(state.chi_1 - 1), np.log(state.xi_c), 1)[0])
        # the next order of ξ_c in χ₁ − 1 moves the fitted slope by O(χ₁ − 1) ≤ 1e-2
        limit = 0.05
        details = {"activation": name, "sigma_b2": sb2, "critical_sigma_w2": critical, "chi_1_minus_1": (state.chi_1 - 1).tolist(), "xi_c": state.xi_c.tolist(), "slope": slope}
        outcome = AGREE if abs(slope - float(p)) <= limit else DISAGREE
        return Evidence(f"quadrature-{name}", outcome, f"chaotic side ({name}): ξ_c ∝ (χ₁ − 1)^{slope:.3f}", details)


def _relu_epsilon_step(e):
    """1 − c′ for c = 1 − ε under the ReLU c-map at (2, 0), written without cancellation of c."""
    return (mpmath.pi * e - mpmath.sqrt(e * (2 - e)) + 2 * mpmath.asin(mpmath.sqrt(e / 2)) * (1 - e)) / mpmath.pi


@dataclass(frozen=True)
class ReluCorrelationAsymptotics(Claim):
    r"""At ReLU criticality, l²(1 − c_l) → 9π²/2."""


    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._iteration, candidate)]

    def _symbolic(self, candidate) -> Evidence:
        """Expand the derived c-map at c = 1: ε′ = ε − a ε^{3/2} + …, whence l² ε_l → 4/a²."""
        theory = _theory("relu")
        c_map = theory.c_map.subs({SIGMA_W2: 2, SIGMA_B2: 0})
        eps = sp.Symbol("epsilon", positive=True)
        step = sp.simplify(1 - c_map.subs(C, 1 - eps))
        series = sp.series(step.subs(eps, eps**2), eps, 0, 4).removeO()  # in √ε
        a = -series.coeff(eps, 3)
        if series.coeff(eps, 2) != 1 or a == 0:
            return Evidence("symbolic", UNDECIDED, f"unexpected expansion {series}")
        value = sp.simplify(4 / a**2)
        details = {"expansion": str(series), "a": str(a), "limit": str(value)}
        if sp.simplify(value - candidate) == 0:
            return Evidence("symbolic", EXACT, f"1 − c′ = ε − ({a}) ε^{{3/2}} + …: l²(1 − c_l) → 4/a² = {value}", details)
        return Evidence("symbolic", DISAGREE, f"l²(1 − c_l) → {value}, not {candidate}", details)

    def _iteration(self, candidate) -> Evidence:
        """Iterate ε at 30 digits to l = 1.28e5, fit A + (ln l)/l + 1/l + (ln l)²/l² + (ln l)/l² + 1/l²."""
        levels, values, extrapolated = _relu_correlation_iteration()
        diff = relative_difference(extrapolated, float(candidate))
        # the truncated terms are O((ln l)³/l³) ≈ 1e-8 at l = 1000 (measured: 5e-9)
        limit = 1e-6
        details = {"layers": list(levels), "l2_eps": list(values), "extrapolated": extrapolated, "relative_difference": diff}
        outcome = AGREE if diff <= limit else DISAGREE
        return Evidence("iteration", outcome, f"extrapolated l²(1 − c_l) = {extrapolated:.10g} ({diff:.1e} from {float(candidate):.10g})", details)


@functools.cache
def _relu_correlation_iteration() -> tuple[tuple, tuple, float]:
    """(levels l, l²ε_l, the extrapolated limit) of the ReLU c-map at criticality from ε = ½, iterated at 30 digits
    (the same for the formula and its control: run once)."""
    levels = (1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000)
    values = []
    with mpmath.workdps(30):
        e = mpmath.mpf("0.5")
        for layer in range(1, levels[-1] + 1):
            e = _relu_epsilon_step(e)
            if layer in levels:
                values.append(float(layer * layer * e))
    ell = np.array(levels, float)
    basis = np.array([np.ones_like(ell), np.log(ell) / ell, 1 / ell, np.log(ell) ** 2 / ell**2, np.log(ell) / ell**2, 1 / ell**2]).T
    return levels, tuple(values), float(np.linalg.lstsq(basis, np.array(values), rcond=None)[0][0])


def _judge_simulation(route, z, slope, details) -> Evidence:
    return judge_monte_carlo(
        route,
        z,
        slope,
        details,
        distance="the widest networks are {z:.1f} standard errors from the theory",
        decay="the gap shrinks like N^{slope:.2f}, not N^-0.5",
        summary="|z| = {z:.2f}; gap ∝ N^{slope:.2f}",
    )


#: σ_w², σ_b², depth, q⁰, c⁰ of the finite-width claim.
_FINITE_WIDTH = (1.5, 0.05, 6, 1.0, 0.5)
#: The widths of its networks: a 16-fold range for the N^{-1/2} rate (measured −0.47 for q and c, 64 seeds).
_FINITE_WIDTHS = (32, 128, 512)


@functools.lru_cache(maxsize=2)
def _finite_width_simulations(seeds: int) -> dict:
    """The networks of the finite-width claim, by width: the formula and its control are judged on the same draws."""
    sw2, sb2, depth, q0, c0 = _FINITE_WIDTH
    return {
        width: simulate_network(_theory("tanh"), sw2, sb2, width=width, depth=depth, q0=q0, c0=c0, seeds=seeds, seed=100 + i)
        for i, width in enumerate(_FINITE_WIDTHS)
    }


@functools.lru_cache(maxsize=4)
def _jacobian_simulations(weights: str, seeds: int) -> tuple[float, float, dict]:
    """q*, χ₁ and the Hutchinson estimates of ‖J‖_F²/N by width, for the Jacobian claim (shared by formula and control)."""
    theory = _theory("tanh")
    sw2, sb2, depth = _JACOBIAN
    state = mean_field_state(theory, sw2, sb2)
    q_star, chi = float(state.q_star), float(state.chi_1)
    estimates = {}
    for i, width in enumerate((32, 128, 512)):
        sim = simulate_network(theory, sw2, sb2, width=width, depth=depth, q0=q_star, c0=0.0, seeds=seeds, weights=weights, seed=200 + i)
        estimates[width] = sim.jacobian_msv
    return q_star, chi, estimates


#: σ_w², σ_b², depth of the Jacobian claim: tanh in the ordered phase (χ₁ = 0.647), where an
#: off-by-one in the depth changes the target by a factor 1.5.  At (1.5, 0.05) (χ₁ = 0.94) the
#: Gaussian-weights route could not tell it (|z| = 2.97 for the control); here |z| = 39.6.
_JACOBIAN = (0.8, 0.05, 8)


@dataclass(frozen=True)
class FiniteWidthAgreement(Claim):
    """Finite tanh networks follow the mean-field q- and c-maps; the gap shrinks like N^{-1/2}.

    The candidate says whether the maps include σ_b²: the literature's do
    (``True``); the control drops it (``False``), a common slip.
    """

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._route, candidate, profile, "q"), timed(self._route, candidate, profile, "c")]

    def _route(self, with_bias, profile, which) -> Evidence:
        theory = _theory("tanh")
        sw2, sb2, depth, q0, c0 = _FINITE_WIDTH
        q_theory, c_theory = iterate_maps(theory, sw2, sb2 if with_bias else 0.0, q0, c0, depth)
        target = float((q_theory if which == "q" else c_theory)[-1])
        seeds = profile.monte_carlo_replicates
        simulations = _finite_width_simulations(seeds)
        estimates = {width: (sim.q if which == "q" else sim.c)[:, -1] for width, sim in simulations.items()}
        z, slope, details = replicate_statistics(estimates, target)
        details.update({"quantity": f"{which}_L", "depth": depth, "seeds": seeds, "sigma_w2": sw2, "sigma_b2": sb2})
        return _judge_simulation(f"simulation-{which}", z, slope, details)


@dataclass(frozen=True)
class JacobianMeanSquaredSingularValue(Claim):
    """‖∂h^L/∂h^0‖_F²/N = χ₁^{L + offset} for inputs at q*, Gaussian and orthogonal weights.

    The candidate is the offset: 0 in the literature; the control is −1, an
    off-by-one in the number of layers.
    """

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._route, candidate, profile, "gaussian"), timed(self._route, candidate, profile, "orthogonal")]

    def _route(self, offset, profile, weights) -> Evidence:
        depth = _JACOBIAN[2]
        q_star, chi, estimates = _jacobian_simulations(weights, profile.monte_carlo_replicates)
        target = chi ** (depth + offset)
        z, slope, details = replicate_statistics(estimates, target)
        details.update({"weights": weights, "depth": depth, "chi_1": chi, "q_star": q_star})
        return _judge_simulation(f"simulation-{weights}", z, slope, details)


_ERF_LINE = (sp.pi / 4 * sp.sqrt(1 + 4 * Q), Q - sp.sqrt(1 + 4 * Q) / 2 * sp.asin(2 * Q / (1 + 2 * Q)))
#: The negative control: each part off (σ_w² with 1 + 2q, σ_b² without the ½); tests check that every
#: route refutes a pair with only one part wrong, either one.
_ERF_LINE_WRONG = (sp.pi / 4 * sp.sqrt(1 + 2 * Q), Q - sp.sqrt(1 + 4 * Q) * sp.asin(2 * Q / (1 + 2 * Q)))

CLAIMS = [
    CriticalPoint(
        "meanfield.relu_critical_point",
        "Poole et al. (2016); Schoenholz et al. (2017): the ReLU network is critical at (σ_w², σ_b²) = (2, 0) (He initialisation)",
        r"\chi_1 = \sigma_w^2\,\mathbb E[H(\sqrt{q}z)^2] = 1 \text{ at } (\sigma_w^2, \sigma_b^2) = (2, 0)",
        name="relu",
        literature=sp.Integer(2),
        wrong=sp.Integer(1),
    ),
    CriticalPoint(
        "meanfield.erf_critical_point",
        "Poole et al. (2016); Williams (1997): erf is critical at σ_w² = π/4 for σ_b = 0",
        r"\chi_1 = 1 \text{ at } (\sigma_w^2, \sigma_b^2) = (\pi/4, 0)",
        name="erf",
        literature=sp.pi / 4,
        wrong=sp.Integer(1),
    ),
    CriticalPoint(
        "meanfield.tanh_critical_point",
        "Poole et al. (2016); Schoenholz et al. (2017): tanh is critical at σ_w² = 1 for σ_b = 0",
        r"\chi_1 = 1 \text{ at } (\sigma_w^2, \sigma_b^2) = (1, 0)",
        name="tanh",
        literature=sp.Integer(1),
        wrong=sp.pi / 4,
    ),
    ErfCriticalLine(
        "meanfield.erf_critical_line",
        "The critical line of Xiao et al. (2018) evaluated with Williams' (1997) erf kernel",
        r"\sigma_w^2(q) = \tfrac{\pi}{4}\sqrt{1+4q},\quad \sigma_b^2(q) = q - \tfrac{\sqrt{1+4q}}{2}\arcsin\tfrac{2q}{1+2q}",
        literature=_ERF_LINE,
        wrong=_ERF_LINE_WRONG,
    ),
    DepthScaleDivergence(
        "meanfield.xi_c_divergence",
        "Schoenholz et al. (2017), §3: ξ_c diverges at the order–chaos transition",
        r"\xi_c \propto |\chi_1 - 1|^{-1}",
        literature=sp.Integer(-1),
        wrong=sp.Rational(-1, 2),
    ),
    ReluCorrelationAsymptotics(
        "meanfield.relu_critical_correlation",
        "At ReLU criticality the correlation approaches 1 polynomially (Hayou et al. 2019; review by Liu & Theodorou)",
        r"l^2 (1 - c_l) \to \tfrac{9\pi^2}{2}",
        literature=9 * sp.pi**2 / 2,
        wrong=9 * sp.pi**2 / 4,
    ),
    FiniteWidthAgreement(
        "meanfield.finite_width_agreement",
        "Poole et al. (2016), Fig. 1: finite random tanh networks follow the q- and c-maps",
        r"\hat q_L, \hat c_L \to q_L, c_L \text{ with } |\hat q_L - q_L| = O(N^{-1/2})",
        literature=True,
        wrong=False,
    ),
    JacobianMeanSquaredSingularValue(
        "meanfield.jacobian_mean_squared_singular_value",
        "Pennington, Schoenholz & Ganguli (2017): the mean squared singular value of the input–output Jacobian is χ₁^L",
        r"\tfrac{1}{N}\operatorname{tr} JJ^\top = \chi_1^L",
        literature=0,
        wrong=-1,
    ),
]
