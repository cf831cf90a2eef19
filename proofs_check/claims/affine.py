r"""Networks as pointwise affine maps (Drgoňa, Tuor, Vasisht, Skomski & Vrabie, arXiv 2011.13492; IEEE OJ-CSYS 2022).

Routes: the symbolic composition of :mod:`theory.affine` (the network's residual is a combination of the
units' residuals, each cancelled by SymPy); the substrate's networks in double precision; the same networks
at 40 digits with mpmath; Newton's method against the exact region enumeration; simulated orbits in double
precision and at 40 digits.  Negative controls: σ′ for the slope (A* would be the Jacobian); each
parameterisation's broken variant; spectral radii for norms in the spectral-radius and contraction bounds;
fixed points of the regions' affine maps kept without checking their region; A*'s spectral radius at the
fixed point for local stability; a pointwise spectral radius below 1 for global stability.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mpmath
import numpy as np

from dyncheck.numerics.affine import (
    WEIGHT_FAMILIES,
    activation_regions,
    constrained_weight,
    contraction_bound,
    diverging_orbit,
    iterate,
    jacobian,
    jsr_bounds,
    lipschitz_constant,
    mp_orbit,
    mp_pointwise_affine,
    newton_fixed_points,
    pointwise_affine,
    promise_violation,
    random_dynamics,
    region_fixed_points,
    slope_bound,
    spectral_radius,
    spectral_radius_bound,
    switching_counterexample,
)
from dyncheck.numerics.networks import Network
from dyncheck.proofs_check.claim import Claim, Profile, timed
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.proofs_check.verdicts import AGREE, DISAGREE, EXACT, UNDECIDED, Evidence
from dyncheck.theory.activations import activation
from dyncheck.theory.affine import composition_residual, residual_at_points, unit_residual

__all__ = ["CLAIMS", "Contraction", "Dissipativity", "ExactDecomposition", "GlobalStability", "LocalStability", "ParameterisationSpectrum", "RegionFixedPoints", "SpectralRadiusBound"]

#: The activations the decomposition is judged on: the ReLU family, hard tanh and smooth ones with σ(0) ≠ 0.
DECOMPOSITION_ACTIVATIONS = ("relu", "leaky_relu", "hard_tanh", "tanh", "sigmoid", "gelu", "elu", "softplus")


def _phi(name: str):
    return activation(name).expr()


# ---------------------------------------------------------------------------
# 1. The exact decomposition


@dataclass(frozen=True)
class ExactDecomposition(Claim):
    """f(x) = A*(x) x + b*(x) with A*, b* composed from the slope rule ``candidate`` (quotient or derivative)."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._double, candidate), timed(self._digits, candidate)]

    def _symbolic(self, rule) -> Evidence:
        structure = composition_residual((2, 3, 2))
        errors = {s: 0 for s in structure.free_symbols if s.name.startswith("e")}
        if any(e.xreplace(errors).expand() != 0 for e in structure):
            return Evidence("symbolic", DISAGREE, "the composition leaves a residual at zero unit residuals", {})
        residuals = {name: unit_residual(_phi(name), rule) for name in DECOMPOSITION_ACTIVATIONS}
        details = {"unit_residuals": {k: str(v) for k, v in residuals.items()}}
        failing = {name: residual_at_points(r) for name, r in residuals.items() if r != 0}
        wrong = {name: value for name, value in failing.items() if value > 1e-30}
        if wrong:
            return Evidence("symbolic", DISAGREE, "Λ(z)z + σ(0) − σ(z) ≠ 0 for " + ", ".join(f"{k} (|·| = {v:.3g} at a rational z)" for k, v in wrong.items()), details)
        if failing:
            return Evidence("symbolic", UNDECIDED, "SymPy could not cancel the unit residual of " + ", ".join(failing), details)
        return Evidence("symbolic", EXACT, "A*x + b* − f(x) is a combination of the units' residuals Λ(z)z + σ(0) − σ(z) (symbolic weights, biases, inputs and slopes), and each cancels for " + ", ".join(DECOMPOSITION_ACTIVATIONS), details)

    def _double(self, rule) -> Evidence:
        limit = tolerance("affine_reconstruction")
        worst, rng = {}, np.random.default_rng(0)
        for name in DECOMPOSITION_ACTIVATIONS:
            network = random_dynamics(_phi(name), 3, 8, 3, "gaussian", seed=1, high=1.5, bias_scale=0.5)
            x = np.concatenate([rng.normal(0, 2, (256, 3)), rng.normal(0, 1e-9, (16, 3)), rng.normal(0, 40, (16, 3))])
            matrix, offset = pointwise_affine(network, x, rule=rule)
            value = network.forward(x)[0][-1]
            rebuilt = np.einsum("sij,sj->si", matrix, x) + offset
            scale = np.abs(matrix).max(axis=(-2, -1)) * np.abs(x).max(axis=-1) + np.abs(offset).max(axis=-1) + np.abs(value).max(axis=-1)
            worst[name] = float((np.abs(rebuilt - value).max(axis=-1) / scale).max())
        bad = {k: v for k, v in worst.items() if v > limit}
        details = {"relative_errors": worst, "tolerance": limit, "samples": 288}
        if bad:
            return Evidence("double precision", DISAGREE, "A*x + b* misses f(x) by " + ", ".join(f"{v:.3g} ({k})" for k, v in bad.items()) + " relative", details)
        return Evidence("double precision", AGREE, f"A*x + b* = f(x) to ≤ {max(worst.values()):.2g} relative on 288 inputs (|x| from 1e-9 to 1e2) of a 3-8-8-8-3 network for each activation", details)

    def _digits(self, rule) -> Evidence:
        worst = {}
        for name in DECOMPOSITION_ACTIVATIONS:
            network = random_dynamics(_phi(name), 2, 3, 2, "gaussian", seed=2, high=1.5, bias_scale=0.5)
            errors = []
            for x in np.random.default_rng(3).normal(0, 1.5, (6, 2)):
                value, matrix, offset = mp_pointwise_affine(network, x, rule=rule)
                with mpmath.workdps(40):
                    rebuilt = matrix * mpmath.matrix(x.tolist()) + offset
                    errors.append(float(mpmath.norm(rebuilt - value) / (mpmath.norm(value) + mpmath.norm(offset))))
            worst[name] = max(errors)
        limit = tolerance("high_precision_relative")
        bad = {k: v for k, v in worst.items() if v > limit}
        details = {"relative_errors": worst, "tolerance": limit, "digits": 40}
        if bad:
            return Evidence("40 digits", DISAGREE, "at 40 digits A*x + b* misses f(x) by " + ", ".join(f"{v:.3g} ({k})" for k, v in bad.items()), details)
        return Evidence("40 digits", AGREE, f"at 40 digits A*x + b* = f(x) to ≤ {max(worst.values()):.2g} relative (6 inputs of a 2-3-3-2 network each)", details)


# ---------------------------------------------------------------------------
# 2. Spectra of parameterisations


SPECTRUM_BOUNDS = (0.5, 0.9)


@dataclass(frozen=True)
class ParameterisationSpectrum(Claim):
    """Matrices built by the family ``candidate`` keep the promise of the family ``promise`` (its eigenvalue bound)."""

    promise: str = ""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        draws = self._draws(candidate)
        return [timed(self._double, draws), timed(self._digits, draws)]

    def _draws(self, family: str) -> list[np.ndarray]:
        rng = np.random.default_rng(7)
        return [constrained_weight(family, rng, n, n, *SPECTRUM_BOUNDS) for n in (2, 3, 5, 8, 13) for _ in range(40)]

    def _judge(self, route: str, violations: list[float], details: dict, how: str) -> Evidence:
        limit = tolerance("spectrum_promise")
        worst = max(violations)
        details.update({"largest_violation": worst, "tolerance": limit, "matrices": len(violations), "bounds": SPECTRUM_BOUNDS})
        promise = WEIGHT_FAMILIES[self.promise].promise
        if worst > limit:
            return Evidence(route, DISAGREE, f"{how}: the promise ({promise}) is broken by {worst:.3g}", details)
        return Evidence(route, AGREE, f"{how}: {promise} (largest excursion {worst:.2g} ≤ {limit:g})", details)

    def _double(self, draws) -> Evidence:
        violations = [promise_violation(self.promise, np.linalg.eigvals(w), np.linalg.svd(w, compute_uv=False), *SPECTRUM_BOUNDS, w) for w in draws]
        return self._judge("double precision", violations, {}, f"LAPACK eigenvalues and singular values of {len(draws)} matrices of sizes 2–13")

    def _digits(self, draws) -> Evidence:
        violations = []
        with mpmath.workdps(40):
            for w in draws[::40]:  # one matrix of each size
                matrix = mpmath.matrix(w.tolist())
                eigenvalues = np.array([complex(e) for e in mpmath.eig(matrix, left=False, right=False)])
                singular = np.array([float(s) for s in mpmath.svd_r(matrix, compute_uv=False)])
                violations.append(promise_violation(self.promise, eigenvalues, singular, *SPECTRUM_BOUNDS, w))
        return self._judge("40 digits", violations, {}, f"40-digit eigenvalues and singular values (mpmath) of {len(violations)} of the matrices, free of LAPACK's conditioning")


# ---------------------------------------------------------------------------
# 3. The spectral radius of A* and the norms of the weights


def _shear_network(phi) -> Network:
    """Two layers whose weights have spectral radius 0.3 and 2-norm ≈ 4: the spectral radius of their product is ≈ 16."""
    w1, w2 = np.array([[0.3, 4.0], [0.0, 0.3]]), np.array([[0.3, 0.0], [4.0, 0.3]])
    return Network([w1, w2], [np.array([0.1, -0.2]), np.array([0.05, 0.1])], phi, 1.0, 1.0, "standard", ("dense", "dense"))


@functools.lru_cache(maxsize=1)
def _bound_networks() -> list[tuple[str, Network]]:
    out = [(f"{name}, {family}", random_dynamics(_phi(name), 4, 4, 3, family, seed=5, high=1.3, bias_scale=0.3)) for name in ("relu", "tanh") for family in ("gaussian", "orthogonal", "spectral")]
    return out + [(f"{name}, shear", _shear_network(_phi(name))) for name in ("relu", "tanh")]


def _radius_product(network: Network, factor: float) -> float:
    """∏ρ(W_l) · factor^(non-linear layers): the spectral radii of the weights where the bounds put their norms."""
    return float(np.prod([spectral_radius(np.asarray(w)) for w in network.weights])) * factor ** sum(k != "linear" for k in network.kinds)


def _bound(network: Network, how: str) -> float:
    """∏‖W_l‖₂ ∏sup|Λ| (``norm``, :func:`~dyncheck.numerics.affine.spectral_radius_bound`) or ∏ρ(W_l) ∏sup|Λ| (``radius``)."""
    return spectral_radius_bound(network) if how == "norm" else _radius_product(network, slope_bound(network.phi))


@dataclass(frozen=True)
class SpectralRadiusBound(Claim):
    """ρ(A*(x)) ≤ ∏‖W_l‖₂ · ∏ sup|Λ| at every x (``candidate`` names the matrix factor: norm or radius)."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._sampled, candidate), timed(self._searched, candidate)]

    def _ratios(self, network, how, x):
        return spectral_radius(pointwise_affine(network, x)[0]) / _bound(network, how)

    def _judge(self, route, worst, how_found) -> Evidence:
        limit = 1 + tolerance("eigenvalue_relative")
        details = {"largest_ratio": worst, "limit": limit}
        top = max(worst.values())
        if top > limit:
            offenders = ", ".join(f"{k} ({v:.3g})" for k, v in worst.items() if v > limit)
            return Evidence(route, DISAGREE, f"{how_found}: ρ(A*(x)) exceeds the bound: ratio {offenders}", details)
        return Evidence(route, AGREE, f"{how_found}: ρ(A*(x))/bound ≤ {top:.4f} on every network (ReLU, tanh; Gaussian, orthogonal, spectral, sheared weights)", details)

    def _sampled(self, how) -> Evidence:
        rng = np.random.default_rng(11)
        worst = {}
        for label, network in _bound_networks():
            d = network.weights[0].shape[-1]
            x = np.concatenate([rng.normal(0, 1, (2048, d)), rng.normal(0, 30, (512, d))])
            worst[label] = float(self._ratios(network, how, x).max())
        return self._judge("sampled", worst, "2560 inputs a network")

    def _searched(self, how) -> Evidence:
        rng = np.random.default_rng(12)
        worst = {}
        for label, network in _bound_networks():
            d = network.weights[0].shape[-1]
            x = rng.normal(0, 1, (256, d))
            ratios = self._ratios(network, how, x)
            for radius in np.geomspace(1.0, 1e-4, 24):  # a batched hill climb: 16 best points, 16 moves each, shrinking steps
                best = x[np.argsort(ratios)[-16:]]
                x = np.concatenate([best, (best[:, None, :] + radius * rng.standard_normal((16, 16, d))).reshape(-1, d)])
                ratios = self._ratios(network, how, x)
            worst[label] = float(ratios.max())
        return self._judge("searched", worst, "a batched hill climb of ρ(A*(x))/bound (24 rounds of 272 points) a network")


# ---------------------------------------------------------------------------
# 4. Fixed points from the regions


@functools.lru_cache(maxsize=1)
def _multistable_relu() -> Network:
    """A map of ℝ² (2-5-2, ReLU, Gaussian weights of scale 2.5, biases N(0, 1), seed 2) with a stable node, an
    unstable node, a saddle and 13 virtual fixed points of its 16 regions' affine maps."""
    return random_dynamics(_phi("relu"), 2, 5, 1, "gaussian", seed=2, high=2.5, bias_scale=1.0)


@dataclass(frozen=True)
class RegionFixedPoints(Claim):
    """The fixed points of a piecewise-affine network are the regions' affine fixed points that lie in their own
    regions (``candidate``: whether that membership is checked)."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        network = _multistable_relu()
        points = region_fixed_points(network, activation_regions(network), check_region=candidate)
        return [timed(self._newton, network, points), timed(self._digits, network, points)]

    def _newton(self, network, points) -> Evidence:
        found = newton_fixed_points(network, box=6.0, starts_per_axis=15)
        matched = [any(np.linalg.norm(p.x - q.x) <= 1e-7 * (1 + np.linalg.norm(q.x)) for q in found) for p in points]
        missing = [q.x.tolist() for q in found if not any(np.linalg.norm(p.x - q.x) <= 1e-7 * (1 + np.linalg.norm(q.x)) for p in points)]
        types = {tuple(np.round(p.x, 6)): p.type for p in points}
        details = {"regions_points": [p.to_json() for p in points], "newton_points": [q.to_json() for q in found], "types": {str(k): v for k, v in types.items()}}
        if missing or not all(matched):
            return Evidence("newton", DISAGREE, f"Newton from a 15 × 15 grid on [−6, 6]² finds {len(found)} fixed points; the regions give {len(points)}, {matched.count(False)} of them not fixed points and {len(missing)} missed", details)
        return Evidence("newton", AGREE, f"Newton from a 15 × 15 grid on [−6, 6]² finds the same {len(found)} fixed points (" + ", ".join(p.type + (" stable" if p.stable else " unstable") for p in points) + ")", details)

    def _digits(self, network, points) -> Evidence:
        residuals = []
        for p in points:
            value, _, _ = mp_pointwise_affine(network, p.x)
            with mpmath.workdps(40):
                residuals.append(float(mpmath.norm(value - mpmath.matrix(p.x.tolist())) / (1 + mpmath.norm(mpmath.matrix(p.x.tolist())))))
        limit = tolerance("fixed_point_relative")
        details = {"residuals": residuals, "tolerance": limit}
        bad = [r for r in residuals if r > limit]
        if bad:
            return Evidence("40 digits", DISAGREE, f"{len(bad)} of the {len(points)} points are not fixed: |f(x) − x| up to {max(bad):.3g} at 40 digits", details)
        return Evidence("40 digits", AGREE, f"f(x*) = x* to ≤ {max(residuals):.2g} at 40 digits for all {len(points)} points", details)


# ---------------------------------------------------------------------------
# 5. Contraction


def _contraction_networks(how: str) -> list[tuple[str, Network]]:
    """Maps of ℝ³ (3-3-3-3, square weights) and the shear map of ℝ², scaled so that the ``how`` bound (norm:
    ∏‖W‖₂ ∏Lip(σ); radius: ∏ρ(W) ∏Lip(σ)) is 0.95; the shear map's ∏ρ(W)·Lip² is 0.09 as it stands."""
    out = []
    for label, network in [("tanh, Gaussian", random_dynamics(_phi("tanh"), 3, 3, 2, "gaussian", seed=3, bias_scale=0.5)),
                           ("relu, Gaussian", random_dynamics(_phi("relu"), 3, 3, 2, "gaussian", seed=4, bias_scale=0.5)),
                           ("tanh, shear", _shear_network(_phi("tanh")))]:
        if how == "radius" and label == "tanh, shear":
            out.append((label, network))
            continue
        factor = contraction_bound(network) if how == "norm" else _radius_product(network, lipschitz_constant(network.phi))
        scale = (0.95 / factor) ** (1 / len(network.weights))
        out.append((label, network.with_parameters([scale * np.asarray(w) for w in network.weights], network.biases)))
    return out


@dataclass(frozen=True)
class Contraction(Claim):
    """A ``candidate`` bound below 1 (norm: ∏‖W‖₂ ∏Lip(σ)) gives one fixed point that attracts every orbit."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        networks = _contraction_networks(candidate)
        return [timed(self._orbits, networks), timed(self._newton, networks)]

    def _orbits(self, networks) -> Evidence:
        spreads = {}
        for label, network in networks:
            rng = np.random.default_rng(5)
            d = network.weights[0].shape[-1]
            starts = np.concatenate([rng.uniform(-5, 5, (400, d)), 1e3 * rng.standard_normal((100, d))])
            end = iterate(network, starts, 400)[-1]
            spreads[label] = float(np.linalg.norm(end - end.mean(axis=0), axis=1).max())
        limit = tolerance("fixed_point_relative")
        details = {"spread_after_400_steps": spreads, "tolerance": limit}
        bad = {k: v for k, v in spreads.items() if not v <= limit}
        if bad:
            return Evidence("orbits", DISAGREE, "500 orbits (|x₀| up to ~3e3) do not meet in one point after 400 steps: spread " + ", ".join(f"{v:.3g} ({k})" for k, v in bad.items()), details)
        return Evidence("orbits", AGREE, f"500 orbits a network (|x₀| up to ~3e3) end within {max(spreads.values()):.2g} of one point", details)

    def _newton(self, networks) -> Evidence:
        counts = {}
        for label, network in networks:
            points = newton_fixed_points(network, box=5.0, starts_per_axis=13 if network.weights[0].shape[-1] == 2 else 7)
            counts[label] = [(p.type, p.stable) for p in points]
        details = {"fixed_points": {k: [list(t) for t in v] for k, v in counts.items()}}
        bad = {k: v for k, v in counts.items() if len(v) != 1 or not v[0][1]}
        if bad:
            return Evidence("newton", DISAGREE, "Newton from a grid of starts finds " + ", ".join(f"{len(v)} fixed points ({k}: " + ", ".join(t for t, _ in v) + ")" for k, v in bad.items()), details)
        return Evidence("newton", AGREE, "Newton from a grid of starts on [−5, 5]^d finds one fixed point, stable, for each network", details)


# ---------------------------------------------------------------------------
# 6. Local asymptotic stability


def _softplus_line() -> Network:
    """f(x) = 1.2 softplus(x) − 0.552 on ℝ: a fixed point near 2 where A* = 1.2Λ ≈ 0.86 but f′ = 1.2σ(x*) ≈ 1.06."""
    return Network([np.array([[1.0]]), np.array([[1.2]])], [np.array([0.0]), np.array([-0.552])], _phi("softplus"), 1.0, 1.0, "standard", ("dense", "linear"))


@functools.lru_cache(maxsize=1)
def _local_cases() -> list[tuple[str, Network, np.ndarray]]:
    cases = []
    line = _softplus_line()
    cases += [("softplus line", line, p.x) for p in newton_fixed_points(line, box=4.0, starts_per_axis=41)]
    for seed in (1, 2):
        network = random_dynamics(_phi("tanh"), 2, 5, 1, "gaussian", seed=seed, high=2.5, bias_scale=0.5)
        cases += [(f"tanh seed {seed}", network, p.x) for p in newton_fixed_points(network, box=4.0)]
    return cases


@dataclass(frozen=True)
class LocalStability(Claim):
    """A fixed point x* is locally asymptotically stable when ρ(M(x*)) < 1 and unstable when ρ > 1, with M the
    ``candidate`` matrix (the Jacobian, or A*(x*) — the negative control)."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        predictions = []
        for label, network, x in _local_cases():
            matrix = jacobian(network, x[None])[0] if candidate == "jacobian" else pointwise_affine(network, x[None])[0][0]
            predictions.append((label, network, x, float(spectral_radius(matrix))))
        return [timed(self._double, predictions), timed(self._digits, predictions)]

    def _judge(self, route, outcomes, how) -> Evidence:
        wrong = [o for o in outcomes if (o["predicted_radius"] < 1) != (o["observed_growth"] < 1)]
        details = {"fixed_points": outcomes}
        if wrong:
            return Evidence(route, DISAGREE, f"{how}: {len(wrong)} of {len(outcomes)} fixed points behave against the prediction, e.g. {wrong[0]['network']} at x* = {np.round(wrong[0]['x'], 4).tolist()}: ρ = {wrong[0]['predicted_radius']:.4g} but perturbations grow ×{wrong[0]['observed_growth']:.4g} a step", details)
        return Evidence(route, AGREE, f"{how}: all {len(outcomes)} fixed points (stable and unstable) behave as ρ predicts", details)

    def _double(self, predictions) -> Evidence:
        outcomes = []
        for label, network, x, radius in predictions:
            rng = np.random.default_rng(0)
            delta = 1e-8 * rng.standard_normal((16, x.size))
            orbit = iterate(network, x + delta, 40)
            growth = float((np.linalg.norm(orbit[-1] - x, axis=-1).max() / np.linalg.norm(delta, axis=-1).max()) ** (1 / 40))
            outcomes.append({"network": label, "x": x.tolist(), "predicted_radius": radius, "observed_growth": growth})
        return self._judge("double precision", outcomes, "perturbations of 1e-8 over 40 steps")

    def _digits(self, predictions) -> Evidence:
        outcomes = []
        for label, network, x, radius in predictions:
            reference = mp_orbit(network, x, 60)
            growths = []
            for axis in range(x.size):  # 1e-20 along each axis: at 40 digits the linearisation is exact to ~1e-20
                with mpmath.workdps(40):
                    start = mpmath.matrix([mpmath.mpf(float(v)) for v in x])
                    start[axis] += mpmath.mpf(10) ** -20
                    distances = [mpmath.norm(a - b) for a, b in zip(reference, mp_orbit(network, start, 60))]
                    growths.append(float((max(distances[-5:]) / mpmath.mpf(10) ** -20) ** (mpmath.mpf(1) / 60)))
            outcomes.append({"network": label, "x": x.tolist(), "predicted_radius": radius, "observed_growth": max(growths)})
        return self._judge("40 digits", outcomes, "perturbations of 1e-20 over 60 steps at 40 digits")


# ---------------------------------------------------------------------------
# 7. Dissipativity


@functools.lru_cache(maxsize=2)
def _dissipative_cases(how: str) -> tuple[tuple[str, Network], ...]:
    """Networks whose A*(x) satisfies the ``how`` hypothesis at every x: ``norm`` — ReLU, tanh and sigmoid maps
    with biases scaled so that ∏‖W‖₂∏sup|Λ| = 1 (so ‖A*(x)‖₂ ≤ 1); ``radius`` — the switching counterexample,
    whose ρ(A*(x)) ≤ 0.92 everywhere (the negative control's hypothesis)."""
    if how == "radius":
        return (("switching counterexample", switching_counterexample()),)
    cases = []
    for name in ("relu", "tanh", "sigmoid"):
        network = random_dynamics(_phi(name), 3, 6, 2, "gaussian", seed=8, high=1.5, bias_scale=0.5)
        scale = (1.0 / _bound(network, "norm")) ** (1 / len(network.weights))
        cases.append((name, network.with_parameters([scale * np.asarray(w) for w in network.weights], network.biases)))
    return tuple(cases)


def _supply_excess(network: Network, x: np.ndarray) -> np.ndarray:
    """(‖f(x)‖ − ‖x‖ − ‖b*(x)‖)/(1 + ‖x‖): positive where V(x) = ‖x‖₂ gains more than the supply ‖b*(x)‖₂."""
    offset = pointwise_affine(network, x)[1]
    value = network.forward(x)[0][-1]
    return (np.linalg.norm(value, axis=-1) - np.linalg.norm(x, axis=-1) - np.linalg.norm(offset, axis=-1)) / (1 + np.linalg.norm(x, axis=-1))


@dataclass(frozen=True)
class Dissipativity(Claim):
    """If the ``candidate`` quantity of A*(x) (norm: ‖A*(x)‖₂; radius: ρ(A*(x))) is ≤ 1 at every x, then V(x) = ‖x‖₂
    is a storage function with supply rate ‖b*(x)‖₂: ‖f(x)‖ ≤ ‖x‖ + ‖b*(x)‖."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        cases = _dissipative_cases(candidate)
        worst = {label: self._climb(network) for label, network in cases}
        return [timed(self._double, cases, worst), timed(self._digits, cases, worst)]

    @staticmethod
    def _climb(network: Network) -> np.ndarray:
        """The input of largest excess found: a sample of 4096 inputs, then a batched hill climb."""
        rng = np.random.default_rng(9)
        d = network.weights[0].shape[-1]
        x = np.concatenate([rng.normal(0, 1, (2048, d)), rng.normal(0, 20, (2048, d))])
        excess = _supply_excess(network, x)
        for radius in np.geomspace(1.0, 1e-3, 12):
            best = x[np.argsort(excess)[-16:]]
            x = np.concatenate([best, (best[:, None, :] + radius * (1 + np.abs(best[:, None, :])) * rng.standard_normal((16, 16, d))).reshape(-1, d)])
            excess = _supply_excess(network, x)
        return x[int(np.argmax(excess))]

    def _judge(self, route: str, excess: dict, how: str) -> Evidence:
        limit = tolerance("eigenvalue_relative")
        details = {"largest_excess": excess, "tolerance": limit}
        bad = {k: v for k, v in excess.items() if v > limit}
        if bad:
            return Evidence(route, DISAGREE, f"{how}: ‖f(x)‖ exceeds ‖x‖ + ‖b*(x)‖ by " + ", ".join(f"{v:.3g}(1 + ‖x‖) ({k})" for k, v in bad.items()), details)
        return Evidence(route, AGREE, f"{how}: ‖f(x)‖ ≤ ‖x‖ + ‖b*(x)‖ on every network (largest excess {max(excess.values()):.3g}(1 + ‖x‖))", details)

    def _double(self, cases, worst) -> Evidence:
        excess = {label: float(_supply_excess(network, worst[label][None])[0]) for label, network in cases}
        return self._judge("double precision", excess, "4096 inputs and a hill climb a network")

    def _digits(self, cases, worst) -> Evidence:
        excess = {}
        for label, network in cases:
            x = worst[label]
            value, _, offset = mp_pointwise_affine(network, x)
            with mpmath.workdps(40):
                point = mpmath.matrix(x.tolist())
                excess[label] = float((mpmath.norm(value) - mpmath.norm(point) - mpmath.norm(offset)) / (1 + mpmath.norm(point)))
        return self._judge("40 digits", excess, "the hill climb's worst input at 40 digits")


# ---------------------------------------------------------------------------
# 8. Global stability


@functools.lru_cache(maxsize=1)
def _global_cases() -> list[tuple[str, Network, np.ndarray]]:
    """The switching counterexample, and a ReLU map (2-5-2, seed 29) whose contraction bound is 1.32 but whose 16
    region matrices have joint spectral radius ≤ 0.47; each with its regions' matrices."""
    cases = [("switching counterexample", switching_counterexample()), ("relu seed 29", random_dynamics(_phi("relu"), 2, 5, 1, "gaussian", seed=29, high=1.2, bias_scale=0.5))]
    return [(label, network, np.stack([r.matrix for r in activation_regions(network)])) for label, network in cases]


def _criterion(network: Network, matrices: np.ndarray, how: str) -> tuple[bool, float]:
    """(predicted globally stable, the number behind it): ``jsr`` — the regions' joint spectral radius bound below 1;
    ``pointwise`` — ρ(A*(x)) below 1 at every x (the regions' matrices and A* on 3600 directions of the unit circle,
    which cross every kink of these plane maps)."""
    if how == "jsr":
        upper = jsr_bounds(matrices)[1]
        return upper < 1, upper
    angles = np.linspace(0, 2 * np.pi, 3600, endpoint=False)
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    largest = max(float(spectral_radius(matrices).max()), float(spectral_radius(pointwise_affine(network, circle)[0]).max()))
    return largest < 1, largest


@dataclass(frozen=True)
class GlobalStability(Claim):
    """x_{k+1} = f(x_k) of a ReLU network is globally stable when the ``candidate`` criterion holds."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        judged = [(label, network, *_criterion(network, matrices, candidate)) for label, network, matrices in _global_cases()]
        return [timed(self._double, judged), timed(self._digits, judged)]

    def _double(self, judged) -> Evidence:
        details, wrong = {}, []
        for label, network, stable, number in judged:
            witness = diverging_orbit(network, 10.0) if stable else None
            details[label] = {"criterion_value": number, "predicted_stable": stable, "witness": witness}
            if witness is not None:
                wrong.append(f"{label} (criterion {number:.4g}; the orbit from {np.round(witness['start'], 4).tolist()} grows ×{witness['growth_per_step']:.4g} a step)")
        called = sum(j[2] for j in judged)
        if wrong:
            return Evidence("orbits", DISAGREE, "called globally stable but diverges: " + "; ".join(wrong), details)
        if not called:
            return Evidence("orbits", UNDECIDED, "the criterion calls no test network stable", details)
        return Evidence("orbits", AGREE, f"no orbit from 2048 starts (radius 0.1–10) diverges on the {called} network(s) the criterion calls stable", details)

    def _digits(self, judged) -> Evidence:
        details, wrong = {}, []
        for label, network, stable, number in judged:
            if not stable:
                continue
            starts = np.random.default_rng(1).normal(0, 10, (6, 2))
            with mpmath.workdps(40):
                growth = max(float((mpmath.norm(mp_orbit(network, s, 300)[-1]) / mpmath.norm(mpmath.matrix(s.tolist()))) ** (mpmath.mpf(1) / 300)) for s in starts)
            details[label] = {"criterion_value": number, "largest_growth_per_step": growth}
            if growth > 1:
                wrong.append(f"{label} (×{growth:.4g} a step)")
        if wrong:
            return Evidence("40 digits", DISAGREE, "at 40 digits, orbits of a network called stable grow: " + ", ".join(wrong), details)
        if not details:
            return Evidence("40 digits", UNDECIDED, "the criterion calls no test network stable", details)
        return Evidence("40 digits", AGREE, "at 40 digits, 300 steps from 6 starts shrink on every network called stable", details)


# ---------------------------------------------------------------------------


_DRGONA = "Drgoňa, Tuor, Vasisht, Skomski & Vrabie, arXiv 2011.13492 (2020) and IEEE OJ-CSYS 1 (2022)"

CLAIMS = [
    ExactDecomposition(
        "affine.exact_decomposition",
        _DRGONA + ": a network is a pointwise affine map f(x) = A*(x)x + b*(x), with Λ(z) = (σ(z) − σ(0))/z for the activations",
        r"f(x) = A^*(x)\,x + b^*(x),\ A^* = \prod_l \Lambda_l W_l,\ \Lambda = \mathrm{diag}\frac{\sigma(z) - \sigma(0)}{z}",
        literature="quotient",
        wrong="derivative",
    ),
    ParameterisationSpectrum(
        "affine.perron_frobenius_spectrum",
        "Perron–Frobenius theorem; Tuor, Drgoňa & Vrabie 2020 (neuromancer slim PerronFrobeniusLinear): a non-negative W with row sums in [λ_min, λ_max] has spectral radius in [λ_min, λ_max]",
        r"W \ge 0,\ \textstyle\sum_j W_{ij} \in [\lambda_{\min}, \lambda_{\max}] \Rightarrow \rho(W) \in [\lambda_{\min}, \lambda_{\max}]",
        literature="perron-frobenius",
        wrong="signed-perron-frobenius",
        promise="perron-frobenius",
    ),
    ParameterisationSpectrum(
        "affine.svd_spectrum",
        "Zhang et al. 2018 (stabilizing gradients by SVD parameterization); neuromancer slim SVDLinear: W = U diag(s) Vᵀ with orthogonal U, V and s ∈ [s_min, s_max] has every |λ| and σ in [s_min, s_max]",
        r"W = U\Sigma V^\top,\ U^\top U = V^\top V = I,\ \Sigma_{ii} \in [s_{\min}, s_{\max}] \Rightarrow s_{\min} \le |\lambda(W)| \le s_{\max}",
        literature="svd",
        wrong="inexact-svd",
        promise="svd",
    ),
    ParameterisationSpectrum(
        "affine.gershgorin_spectrum",
        "Gershgorin 1931; neuromancer slim GershgorinLinear: every eigenvalue lies in a disc D(W_ii, Σ_{j≠i}|W_ij|), so discs built inside D(m, R) keep the spectrum there",
        r"\lambda(W) \in \textstyle\bigcup_i D\big(W_{ii}, \sum_{j \ne i} |W_{ij}|\big) \subset D\big(\tfrac{\lambda_{\min} + \lambda_{\max}}{2}, \tfrac{\lambda_{\max} - \lambda_{\min}}{2}\big)",
        literature="gershgorin",
        wrong="signed-gershgorin",
        promise="gershgorin",
    ),
    SpectralRadiusBound(
        "affine.spectral_radius_bound",
        _DRGONA + ": ρ(A*(x)) ≤ ‖A*(x)‖₂ ≤ ∏‖W_l‖₂ ∏ sup|Λ_l| (for ReLU and tanh, sup|Λ| = 1)",
        r"\rho(A^*(x)) \le \prod_l \|W_l\|_2 \prod_l \sup_z |\Lambda_l(z)|",
        literature="norm",
        wrong="radius",
    ),
    RegionFixedPoints(
        "affine.region_fixed_points",
        _DRGONA + ": the stationary points of a piecewise-affine network are the affine maps' fixed points that lie in their own regions",
        r"x^* = (I - A_r)^{-1} c_r \text{ is a fixed point} \iff x^* \in R_r",
        literature=True,
        wrong=False,
    ),
    Contraction(
        "affine.contraction",
        "Banach's fixed-point theorem; " + _DRGONA + ": ∏‖W_l‖₂ ∏Lip(σ_l) < 1 makes f a contraction with one globally attracting fixed point",
        r"\prod_l \|W_l\|_2 \prod_l \mathrm{Lip}(\sigma_l) < 1 \Rightarrow \exists!\, x^* = f(x^*),\ f^k(x_0) \to x^*\ \forall x_0",
        literature="norm",
        wrong="radius",
    ),
    LocalStability(
        "affine.local_stability",
        "Lyapunov's indirect method for maps; " + _DRGONA + " (local asymptotic stability of stationary points): ρ(∂f/∂x(x*)) < 1 ⇒ stable, > 1 ⇒ unstable",
        r"\rho\big(\partial f/\partial x\,(x^*)\big) < 1 \Rightarrow x^* \text{ locally asymptotically stable}",
        literature="jacobian",
        wrong="A*",
    ),
    Dissipativity(
        "affine.dissipativity",
        _DRGONA + " (dissipativity with supply rates from the aggregate bias): ‖A*(x)‖₂ ≤ 1 at every x makes V(x) = ‖x‖₂ a storage function with supply ‖b*(x)‖₂",
        r"\sup_x \|A^*(x)\|_2 \le 1 \Rightarrow \|f(x)\|_2 \le \|x\|_2 + \|b^*(x)\|_2",
        literature="norm",
        wrong="radius",
    ),
    GlobalStability(
        "affine.global_stability",
        "Jungers 2009 (joint spectral radius of switched systems): a continuous piecewise-affine f whose region matrices have joint spectral radius < 1 is globally (incrementally) stable; a pointwise ρ(A*(x)) < 1 is not enough",
        r"\hat\rho(\{A_r\}) < 1 \Rightarrow \text{globally stable};\ \ \rho(A^*(x)) < 1\ \forall x \not\Rightarrow \text{globally stable}",
        literature="jsr",
        wrong="pointwise",
    ),
]
