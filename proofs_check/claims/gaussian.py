r"""Closed-form Gaussian expectations from the literature.

Each claim states :math:`\mathbb E[f] = F` on a parameter domain and is judged
by four routes:

* **symbolic** — :func:`theory.gaussian.expect` derives the expectation from
  the integrand (no look-up); ``simplify(derived − F) == 0`` proves it, else
  the two are compared at 40 digits;
* **high-precision** — mpmath quadrature of the integrand at 40 digits
  against F (for bivariate claims only in the ``full`` profile: nested
  quadrature costs about a minute a point);
* **double-quadrature** — the generated, vectorized double-precision rule
  against F at many parameter points;
* **monte-carlo** — a z-test of the sample mean against F, and the rate:
  the RMS error over replicates must fall like N^{-1/2} (a wrong F leaves a
  bias and flattens the slope).

The negative control of each claim is a plausible wrong formula (a dropped
factor, arccos for π − arccos, sin for sinh, …) that the same routes must refute.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from dyncheck.numerics.codegen import generate
from dyncheck.numerics.gaussian import (
    compile_expectation,
    evaluate_mp,
    expectation_mc,
    expectation_mp,
    replicate_means,
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
from dyncheck.theory.symbols import Q, RHO, U, V, X, Z
from dyncheck.theory.gaussian import SIMPLIFY_MAX_OPERATIONS, expect
from dyncheck.theory.timelimit import SymbolicTimeout, time_limit

__all__ = ["GaussianClosedForm", "CLAIMS"]

SIMPLIFY_SECONDS = 15.0


@functools.lru_cache(maxsize=None)
def _derive(integrand, variables, rho):
    return expect(integrand, variables, rho)


def _sample(domain: Mapping, count: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    points = []
    for _ in range(count):
        point = {}
        for symbol, (lo, hi, scale) in domain.items():
            point[symbol] = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if scale == "log" else float(rng.uniform(lo, hi))
        points.append(point)
    return points


#: Where in each parameter's range the sampling route looks: four fifths of the way up (in log for
#: log ranges; of the positive half for a range across 0).  The centre would hide mistakes that vanish
#: or agree to third order at small arguments (sin against sinh of abρ at a = b = 0.3, ρ = 0.5: 4e-5).
PROBE_FRACTION = 0.8


def _probe(domain: Mapping) -> dict:
    """One generic point of the domain for the sampling route (see :data:`PROBE_FRACTION`)."""
    f = PROBE_FRACTION
    return {
        s: (lo * (hi / lo) ** f if scale == "log" else lo + f * (hi - lo)) if not (scale == "linear" and lo < 0 < hi) else f * hi
        for s, (lo, hi, scale) in domain.items()
    }


@dataclass(frozen=True)
class GaussianClosedForm(Claim):
    r"""``E[integrand] = literature`` for parameters in ``domain``.

    ``domain`` maps each parameter symbol to ``(low, high, "log" | "linear")``;
    for a bivariate claim it includes ``rho``.
    """

    integrand: sp.Expr = field(kw_only=True)
    variables: tuple = field(kw_only=True)
    domain: Mapping = field(kw_only=True)

    def __post_init__(self):
        bivariate = len(self.variables) == 2
        params = set(self.domain)
        needed = (self.integrand.free_symbols - set(self.variables)) | self.literature.free_symbols
        if bivariate:
            needed |= {RHO}
        if needed - params:
            raise ValueError(f"{self.id}: no domain for {needed - params}")
        super().__post_init__()

    @property
    def bivariate(self) -> bool:
        return len(self.variables) == 2

    @property
    def rho(self):
        return RHO if self.bivariate else None

    @property
    def parameters(self) -> tuple:
        return tuple(sorted(self.domain, key=str))

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [
            timed(self._symbolic, candidate, profile),
            timed(self._high_precision, candidate, profile),
            timed(self._double_quadrature, candidate, profile),
            timed(self._monte_carlo, candidate, profile),
        ]

    # -- routes ------------------------------------------------------------
    def _symbolic(self, candidate, profile) -> Evidence:
        derivation = _derive(self.integrand, self.variables, self.rho)
        details = {"rule": derivation.rule, "derived": str(derivation.value), "steps": list(derivation.steps)}
        if not derivation.closed:
            return Evidence("symbolic", UNDECIDED, "the engine derived no closed form", details)
        difference = derivation.value - candidate
        # simplify does not finish on forms larger than SIMPLIFY_MAX_OPERATIONS (GELU's): compare numerically.
        why = "the forms are too large to simplify"
        if sp.count_ops(difference) <= SIMPLIFY_MAX_OPERATIONS:
            why = "simplify undecided"
            try:
                with time_limit(SIMPLIFY_SECONDS):
                    # arccos and arcsin, sinh and exp: compare in one canonical form.
                    for form in (difference, difference.rewrite(sp.asin), difference.rewrite(sp.exp)):
                        if sp.simplify(form) == 0:
                            difference = sp.S.Zero
                            break
            except SymbolicTimeout:
                pass
        if difference == 0:
            return Evidence("symbolic", EXACT, f"derived by {derivation.rule}; simplify(derived − formula) = 0", details)
        dps = int(tolerance("high_precision_digits"))
        worst, at = 0.0, None
        for point in _sample(self.domain, profile.high_precision_points, seed=11):
            diff = relative_difference(evaluate_mp(derivation.value, point, dps), evaluate_mp(candidate, point, dps))
            if diff > worst:
                worst, at = diff, point
        details["max_relative_difference"] = worst
        if worst > tolerance("high_precision_relative"):
            details["counterexample"] = {str(k): v for k, v in at.items()}
            return Evidence("symbolic", DISAGREE, f"derived form differs from the formula by {worst:.3g} at {at}", details)
        return Evidence("symbolic", AGREE, f"derived form equals the formula to {worst:.1e} at 40 digits ({why})", details)

    def _high_precision(self, candidate, profile) -> Evidence:
        if self.bivariate and not profile.bivariate_high_precision:
            return Evidence(
                "high-precision",
                UNDECIDED,
                f"skipped in the {profile.name} profile (nested 40-digit quadrature takes about a minute a point)",
            )
        dps = int(tolerance("high_precision_digits"))
        count = 2 if self.bivariate else profile.high_precision_points
        rows, worst, at = [], 0.0, None
        for point in _sample(self.domain, count, seed=23):
            with mpmath.workdps(dps):
                value, error = expectation_mp(self.integrand, point, self.variables, self.rho, dps=dps, error=True)
            claimed = evaluate_mp(candidate, point, dps)
            diff = relative_difference(value, claimed)
            rows.append({"point": {str(k): v for k, v in point.items()}, "quadrature": mpmath.nstr(value, 30), "formula": mpmath.nstr(claimed, 30), "relative_difference": diff, "error_estimate": float(error)})
            if diff > worst:
                worst, at = diff, point
        details = {"points": rows, "digits": dps}
        limit = tolerance("high_precision_relative")
        if worst > limit:
            details["counterexample"] = {str(k): v for k, v in at.items()}
            return Evidence("high-precision", DISAGREE, f"quadrature and formula differ by {worst:.3g} at {at}", details)
        return Evidence("high-precision", AGREE, f"agree to {worst:.1e} at {len(rows)} points ({dps} digits)", details)

    def _double_quadrature(self, candidate, profile) -> Evidence:
        params = self.parameters
        points = _sample(self.domain, profile.quadrature_points, seed=5)
        arrays = [np.array([p[s] for p in points]) for s in params]
        numeric = compile_expectation(self.integrand, params, self.variables, self.rho)(*arrays)
        claimed = np.broadcast_to(np.asarray(generate(candidate, params)(*arrays), float), numeric.shape)
        rtol, atol = tolerance("double_quadrature_relative"), tolerance("double_quadrature_absolute")
        excess = np.abs(numeric - claimed) - (rtol * np.abs(claimed) + atol)
        rel = np.abs(numeric - claimed) / np.maximum(np.abs(claimed), atol)
        worst = int(np.argmax(excess))
        details = {"points": len(points), "max_relative_difference": float(rel.max()), "rtol": rtol, "atol": atol}
        if excess[worst] > 0:
            at = {str(s): float(a[worst]) for s, a in zip(params, arrays)}
            details["counterexample"] = {"point": at, "quadrature": float(numeric[worst]), "formula": float(claimed[worst])}
            return Evidence("double-quadrature", DISAGREE, f"quadrature {numeric[worst]:.16g} vs formula {claimed[worst]:.16g} at {at}", details)
        return Evidence("double-quadrature", AGREE, f"agree to {rel.max():.1e} relative at {len(points)} points", details)

    def _monte_carlo(self, candidate, profile) -> Evidence:
        point = _probe(self.domain)
        claimed = float(generate(candidate, self.parameters)(*[point[s] for s in self.parameters]))
        estimate = expectation_mc(self.integrand, point, profile.monte_carlo_samples, 2024, self.variables, self.rho)
        z = abs(estimate.mean - claimed) / estimate.standard_error
        replicates = {
            n: replicate_means(self.integrand, point, n, profile.monte_carlo_replicates, 7 + i, self.variables, self.rho)
            for i, n in enumerate(profile.monte_carlo_sizes)
        }
        _, slope, rates = replicate_statistics(replicates, claimed)
        details = {
            "point": {str(k): v for k, v in point.items()},
            "mean": estimate.mean,
            "standard_error": estimate.standard_error,
            "samples": estimate.samples,
            "seed": estimate.seed,
            "formula": claimed,
            "z": z,
            "rate_sizes": rates["rate_sizes"],
            "rate_rms": rates["rate_rms"],
            "rate_slope": slope,
            "replicates": profile.monte_carlo_replicates,
        }
        return judge_monte_carlo(
            "monte-carlo",
            z,
            slope,
            details,
            distance=f"mean {estimate.mean:.6g} is {{z:.1f}} standard errors from the formula {claimed:.6g}",
            decay="RMS error falls like N^{slope:.2f}, not N^-0.5",
            summary=f"|z| = {{z:.2f}} with N = {estimate.samples}; RMS error ∝ N^{{slope:.2f}}",
        )


# ---------------------------------------------------------------------------
# The catalogue

q = Q
a, b = sp.symbols("a b", positive=True)
alpha = sp.Symbol("alpha", positive=True)
_pi = sp.pi

_RHO_RANGE = (-0.999, 0.999, "linear")
_Q_RANGE = (1e-3, 1e3, "log")
_AB_RANGE = (0.05, 5.0, "log")
#: A bias of a unit: the shift c of an affine argument az + c, and its range.
_SHIFT = sp.Symbol("c", real=True)
_SHIFT_RANGE = (-3.0, 3.0, "linear")

relu, erf, lrelu, gelu = activation("relu"), activation("erf"), activation("leaky_relu"), activation("gelu")


def _relu_kernel(r):
    """Cho & Saul (2009) arc-cosine kernel of degree 1 for unit variances, with the 1/2 of E."""
    return (sp.sqrt(1 - r**2) + (_pi - sp.acos(r)) * r) / (2 * _pi)


def _gelu_kernel(plus_one):
    """Tsuchida et al. (2021), as neural-tangents writes it: ``plus_one`` is (1 + a²)(1 + b²); the negative
    control reads its name ``prod_plus_1`` as a²b² + 1."""
    k = a * b * RHO
    delta2 = plus_one - k**2
    return k / 4 + ((k**2 + a**2 * b**2 * delta2) / (plus_one * sp.sqrt(delta2)) + k * sp.asin(k / sp.sqrt(plus_one))) / (2 * _pi)


def _gelu_derivative_kernel(plus_one):
    k = a * b * RHO
    delta2 = plus_one - k**2
    return sp.Rational(1, 4) + sp.asin(k / sp.sqrt(plus_one)) / (2 * _pi) + k / (2 * _pi * sp.sqrt(delta2)) * (1 / delta2 + (1 - a**2 * b**2) / plus_one + 1)


CLAIMS = [
    GaussianClosedForm(
        "gaussian.erf_variance",
        "Williams (1997), Computing with infinite networks, NIPS 9",
        r"\mathbb E[\operatorname{erf}(\sqrt q z)^2] = \tfrac{2}{\pi}\arcsin\frac{2q}{1+2q}",
        integrand=erf(sp.sqrt(q) * Z) ** 2,
        variables=(Z,),
        literature=2 / _pi * sp.asin(2 * q / (1 + 2 * q)),
        wrong=2 / _pi * sp.asin(q / (1 + q)),
        domain={q: _Q_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.erf_arcsine_kernel",
        "Williams (1997), Computing with infinite networks, NIPS 9",
        r"\mathbb E[\operatorname{erf}(au)\operatorname{erf}(bv)] = \tfrac{2}{\pi}\arcsin\frac{2ab\rho}{\sqrt{(1+2a^2)(1+2b^2)}}",
        integrand=erf(a * U) * erf(b * V),
        variables=(U, V),
        literature=2 / _pi * sp.asin(2 * a * b * RHO / sp.sqrt((1 + 2 * a**2) * (1 + 2 * b**2))),
        wrong=2 / _pi * sp.asin(a * b * RHO / sp.sqrt((1 + 2 * a**2) * (1 + 2 * b**2))),
        domain={a: _AB_RANGE, b: _AB_RANGE, RHO: _RHO_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.erf_derivative_kernel",
        "Williams (1997); the χ of erf networks (Poole et al. 2016)",
        r"\mathbb E[\operatorname{erf}'(au)\operatorname{erf}'(bv)] = \frac{4}{\pi\sqrt{(1+2a^2)(1+2b^2)-4a^2b^2\rho^2}}",
        integrand=sp.diff(erf.expr(), X).subs(X, a * U) * sp.diff(erf.expr(), X).subs(X, b * V),
        variables=(U, V),
        literature=4 / (_pi * sp.sqrt((1 + 2 * a**2) * (1 + 2 * b**2) - 4 * a**2 * b**2 * RHO**2)),
        wrong=4 / (_pi * sp.sqrt((1 + 2 * a**2) * (1 + 2 * b**2))),
        domain={a: _AB_RANGE, b: _AB_RANGE, RHO: _RHO_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.relu_variance",
        "Poole et al. (2016); Schoenholz et al. (2017): the ReLU q-map q' = σ_w² q/2 + σ_b²",
        r"\mathbb E[\operatorname{relu}(\sqrt q z)^2] = q/2",
        integrand=relu(sp.sqrt(q) * Z) ** 2,
        variables=(Z,),
        literature=q / 2,
        wrong=q / _pi,
        domain={q: _Q_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.relu_arccos_kernel",
        "Cho & Saul (2009), Kernel methods for deep learning (arc-cosine kernel, degree 1)",
        r"\mathbb E[\operatorname{relu}(u)\operatorname{relu}(v)] = \frac{\sqrt{1-\rho^2} + (\pi - \arccos\rho)\rho}{2\pi}",
        integrand=relu(U) * relu(V),
        variables=(U, V),
        literature=_relu_kernel(RHO),
        wrong=(sp.sqrt(1 - RHO**2) + sp.acos(RHO) * RHO) / (2 * _pi),
        domain={RHO: _RHO_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.relu_order2_kernel",
        "Cho & Saul (2009), Kernel methods for deep learning (arc-cosine kernel, degree 2): k₂/2 = J₂(θ)/(2π), cos θ = ρ",
        r"\mathbb E[\operatorname{relu}(au)^2\operatorname{relu}(bv)^2] = a^2b^2\,\frac{3\sin\theta\cos\theta + (\pi - \theta)(1 + 2\cos^2\theta)}{2\pi},\ \theta = \arccos\rho",
        integrand=relu(a * U) ** 2 * relu(b * V) ** 2,
        variables=(U, V),
        literature=a**2 * b**2 * (3 * sp.sqrt(1 - RHO**2) * RHO + (_pi - sp.acos(RHO)) * (1 + 2 * RHO**2)) / (2 * _pi),
        wrong=a**2 * b**2 * (3 * sp.sqrt(1 - RHO**2) * RHO + (_pi - sp.acos(RHO)) * (1 + RHO**2)) / (2 * _pi),
        domain={a: _AB_RANGE, b: _AB_RANGE, RHO: _RHO_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.shifted_erf_mean",
        "Classical (e.g. Ng & Geller 1969, integrals of the error function): E[erf(az + c)] = erf(c/√(1 + 2a²)), the mean of an erf unit with a bias",
        r"\mathbb E[\operatorname{erf}(az + c)] = \operatorname{erf}\frac{c}{\sqrt{1 + 2a^2}}",
        integrand=sp.erf(a * Z + _SHIFT),
        variables=(Z,),
        literature=sp.erf(_SHIFT / sp.sqrt(1 + 2 * a**2)),
        wrong=sp.erf(_SHIFT / sp.sqrt(1 + a**2)),
        domain={a: _AB_RANGE, _SHIFT: _SHIFT_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.relu_derivative_kernel",
        "Cho & Saul (2009) (arc-cosine kernel, degree 0): E[φ'(u)φ'(v)] for ReLU",
        r"\mathbb E[H(u)H(v)] = \frac{\pi - \arccos\rho}{2\pi}",
        integrand=sp.Heaviside(U) * sp.Heaviside(V),
        variables=(U, V),
        literature=(_pi - sp.acos(RHO)) / (2 * _pi),
        wrong=sp.acos(RHO) / (2 * _pi),
        domain={RHO: _RHO_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.leaky_relu_kernel",
        "Cho & Saul (2009) with leaky ReLU = αx + (1−α)relu(x); neural-tangents ABRelu (Novak et al. 2020)",
        r"\mathbb E[\phi_\alpha(u)\phi_\alpha(v)] = \alpha\rho + (1-\alpha)^2\,\frac{\sqrt{1-\rho^2} + (\pi - \arccos\rho)\rho}{2\pi}",
        integrand=lrelu(U, alpha) * lrelu(V, alpha),
        variables=(U, V),
        literature=alpha * RHO + (1 - alpha) ** 2 * _relu_kernel(RHO),
        wrong=alpha * RHO + (1 - alpha) * _relu_kernel(RHO),
        domain={alpha: (0.01, 0.9, "log"), RHO: _RHO_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.abs_kernel",
        "Cho & Saul (2009) with |x| = 2 relu(x) − x",
        r"\mathbb E[|u||v|] = \tfrac{2}{\pi}\left(\sqrt{1-\rho^2} + \rho\arcsin\rho\right)",
        integrand=activation("abs")(U) * activation("abs")(V),
        variables=(U, V),
        literature=2 / _pi * (sp.sqrt(1 - RHO**2) + RHO * sp.asin(RHO)),
        wrong=2 / _pi * (sp.sqrt(1 - RHO**2) + RHO * sp.acos(RHO)),
        domain={RHO: _RHO_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.sign_kernel",
        "Sheppard (1899); arc-cosine kernel of degree 0 for sign",
        r"\mathbb E[\operatorname{sign}(u)\operatorname{sign}(v)] = \tfrac{2}{\pi}\arcsin\rho",
        integrand=activation("sign")(U) * activation("sign")(V),
        variables=(U, V),
        literature=2 / _pi * sp.asin(RHO),
        wrong=RHO,
        domain={RHO: _RHO_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.hard_tanh_variance",
        "Second moment of a clipped normal (Johnson, Kotz & Balakrishnan, Continuous Univariate Distributions, §13.10)",
        r"\mathbb E[\operatorname{hardtanh}(\sqrt q z)^2] = q\,\operatorname{erf}\tfrac{1}{\sqrt{2q}} - \sqrt{\tfrac{2q}{\pi}}e^{-1/(2q)} + \operatorname{erfc}\tfrac{1}{\sqrt{2q}}",
        integrand=activation("hard_tanh")(sp.sqrt(q) * Z) ** 2,
        variables=(Z,),
        literature=q * sp.erf(1 / sp.sqrt(2 * q)) - sp.sqrt(2 * q / _pi) * sp.exp(-1 / (2 * q)) + sp.erfc(1 / sp.sqrt(2 * q)),
        wrong=q * sp.erf(1 / sp.sqrt(2 * q)) + sp.erfc(1 / sp.sqrt(2 * q)),
        domain={q: _Q_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.gaussian_kernel",
        "Gaussian integral of exp(−xᵀAx/2) (e.g. Williams 1997, §3); neural-tangents Gaussian",
        r"\mathbb E[e^{-a^2u^2/2}e^{-b^2v^2/2}] = \left((1+a^2)(1+b^2) - a^2b^2\rho^2\right)^{-1/2}",
        integrand=activation("gaussian")(a * U) * activation("gaussian")(b * V),
        variables=(U, V),
        literature=1 / sp.sqrt((1 + a**2) * (1 + b**2) - a**2 * b**2 * RHO**2),
        wrong=1 / sp.sqrt((1 + a**2) * (1 + b**2)),
        domain={a: _AB_RANGE, b: _AB_RANGE, RHO: _RHO_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.sin_kernel",
        "Characteristic function of the bivariate normal; random Fourier features (Rahimi & Recht 2007)",
        r"\mathbb E[\sin(au)\sin(bv)] = e^{-(a^2+b^2)/2}\sinh(ab\rho)",
        integrand=sp.sin(a * U) * sp.sin(b * V),
        variables=(U, V),
        literature=sp.exp(-(a**2 + b**2) / 2) * sp.sinh(a * b * RHO),
        wrong=sp.exp(-(a**2 + b**2) / 2) * sp.sin(a * b * RHO),
        domain={a: (0.05, 2.0, "log"), b: (0.05, 2.0, "log"), RHO: _RHO_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.cos_kernel",
        "Characteristic function of the bivariate normal; random Fourier features (Rahimi & Recht 2007)",
        r"\mathbb E[\cos(au)\cos(bv)] = e^{-(a^2+b^2)/2}\cosh(ab\rho)",
        integrand=sp.cos(a * U) * sp.cos(b * V),
        variables=(U, V),
        literature=sp.exp(-(a**2 + b**2) / 2) * sp.cosh(a * b * RHO),
        wrong=sp.exp(-(a**2 + b**2) / 2) * sp.cos(a * b * RHO),
        domain={a: (0.05, 2.0, "log"), b: (0.05, 2.0, "log"), RHO: _RHO_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.isserlis_fourth_moment",
        "Isserlis (1918): E[u²v²] = E[u²]E[v²] + 2E[uv]²",
        r"\mathbb E[u^2v^2] = 1 + 2\rho^2",
        integrand=U**2 * V**2,
        variables=(U, V),
        literature=1 + 2 * RHO**2,
        wrong=1 + RHO**2,
        domain={RHO: _RHO_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.monomial_sixth_moment",
        "Moments of the normal distribution: E[z^{2k}] = (2k − 1)!!",
        r"\mathbb E[(\sqrt q z)^6] = 15q^3",
        integrand=activation("monomial")(sp.sqrt(q) * Z, 6),
        variables=(Z,),
        literature=15 * q**3,
        wrong=6 * q**3,
        domain={q: (1e-2, 1e2, "log")},
    ),
    GaussianClosedForm(
        "gaussian.gelu_kernel",
        "Tsuchida, Pearce, van der Heide, Roosta & Gallagher (2021), Avoiding kernel fixed points: "
        "computing with ELU and GELU infinite networks, AAAI (arXiv:2002.08517); neural-tangents Gelu",
        r"\mathbb E[\mathrm{gelu}(au)\mathrm{gelu}(bv)] = \frac{k}{4} + \frac{1}{2\pi}\left("
        r"\frac{k^2 + a^2b^2\delta^2}{(1+a^2)(1+b^2)\,\delta} + k\arcsin\frac{k}{\sqrt{(1+a^2)(1+b^2)}}\right),\ "
        r"k = ab\rho,\ \delta^2 = (1+a^2)(1+b^2) - k^2",
        integrand=gelu(a * U) * gelu(b * V),
        variables=(U, V),
        literature=_gelu_kernel((1 + a**2) * (1 + b**2)),
        wrong=_gelu_kernel(a**2 * b**2 + 1),
        domain={a: _AB_RANGE, b: _AB_RANGE, RHO: _RHO_RANGE},
    ),
    GaussianClosedForm(
        "gaussian.gelu_derivative_kernel",
        "Tsuchida et al. (2021) (arXiv:2002.08517): E[φ'(u)φ'(v)] for GELU, as in neural-tangents Gelu",
        r"\mathbb E[\mathrm{gelu}'(au)\mathrm{gelu}'(bv)] = \frac14 + \frac{1}{2\pi}\arcsin\frac{k}{\sqrt{(1+a^2)(1+b^2)}}"
        r" + \frac{k}{2\pi\delta}\left(\frac{1}{\delta^2} + \frac{1-a^2b^2}{(1+a^2)(1+b^2)} + 1\right)",
        integrand=sp.diff(gelu.expr(), X).subs(X, a * U) * sp.diff(gelu.expr(), X).subs(X, b * V),
        variables=(U, V),
        literature=_gelu_derivative_kernel((1 + a**2) * (1 + b**2)),
        wrong=_gelu_derivative_kernel(a**2 * b**2 + 1),
        domain={a: _AB_RANGE, b: _AB_RANGE, RHO: _RHO_RANGE},
    ),
]
