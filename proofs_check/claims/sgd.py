r"""SGD as a random dynamical system beside an interpolation minimum: which criterion decides stability.

Routes: SGD itself, run from beside the minimum with per-sample gradients (least squares in numpy; a small tanh
network in torch, its per-sample Hessians by autograd), whose log-distance rate and its 95 % interval say whether
it accumulates at the minimum — compared with what a candidate criterion predicts from the Hessians; the exact
second-moment algebra (inclusion probabilities of a batch drawn without replacement for symbolic n and B, and
every batch enumerated for n ≤ 6); Monte Carlo of E(x_k − x*)².  Negative controls: GD's criterion stated as
SGD's (it misses runs that GD's step keeps but single samples throw off), Wu, Ma & E's factor with the
with-replacement variance 1/B, and the sharpness bound 1/η in place of 2/η.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from dyncheck.numerics.sgd import (
    CurvatureFamily,
    best_piecewise_schedule,
    observed_orders,
    sgd_second_moment,
    sme_paths,
    sme_weak_errors,
    test_model_sgd,
    exact_lyapunov_exponent,
    gd_factor,
    interpolating_network,
    least_squares_sgd_rate,
    lyapunov_exponent,
    mean_square_factor,
    network_family,
    network_sgd_rate,
    piecewise_schedule,
    schedule_from,
    schedule_moment,
)
from dyncheck.proofs_check.claim import Claim, Profile, needs_torch, timed
from dyncheck.proofs_check.verdicts import AGREE, DISAGREE, EXACT, UNDECIDED, Evidence, judge_monte_carlo, replicate_statistics, standard_error
from dyncheck.theory.sgd import (
    COMMON_SCHEDULES,
    WITHOUT_REPLACEMENT,
    lyapunov_exponent as exact_exponent,
    mean_square_factor as closed_factor,
    mean_square_identity_gap,
    mean_square_necessary_bounds,
    optimal_schedule,
    schedule_hjb_residuals,
    second_moment_by_inclusion,
    weak_error_order,
)
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.theory.timelimit import SymbolicTimeout
from dyncheck.theory.symbols import ADDITIVE_NOISE, BATCH_SIZE, CURVATURE, NON_UNIFORMITY, SAMPLE_COUNT, SHARPNESS, START, STEP_SIZE, SWITCHING_TIME, TIME

__all__ = ["CLAIMS", "LyapunovCriterion", "MeanSquareBounds", "MeanSquareFactor", "OptimalSchedule", "WeakOrder", "almost_surely_stable", "gd_stable", "mean_square_stable"]


# ---------------------------------------------------------------------------
# The criteria a user might state as SGD's: each maps (per-sample Hessians, η, B) to "converges" (True),
# "escapes" (False) or undecided (None).


def almost_surely_stable(family: CurvatureFamily, eta: float, batch: int) -> bool | None:
    """Chemnitz & Engel: the top Lyapunov exponent below 0 — exact where the Hessians commute, else Benettin's
    estimate, undecided while its 95 % interval straddles 0."""
    exact = exact_lyapunov_exponent(family, eta, batch)
    if exact is not None:
        return bool(exact < 0)
    sign = lyapunov_exponent(family, eta, batch).sign
    return None if sign == 0 else sign < 0


def gd_stable(family: CurvatureFamily, eta: float, batch: int) -> bool:
    """GD's criterion ρ(I − ηH̄) < 1 (the batch ignored)."""
    return gd_factor(family, eta) < 1


def mean_square_stable(family: CurvatureFamily, eta: float, batch: int) -> bool:
    """The mean-square criterion ρ(E A_ξ ⊗ A_ξ) ≤ 1."""
    return mean_square_factor(family, eta, batch) <= 1


# ---------------------------------------------------------------------------
# Almost-sure stability: the sign of the Lyapunov exponent decides


#: One-dimensional curvatures (h_i), step and batch: where the three criteria part ways.
#: (21/20, 7/2), η = 1, B = 1: GD (|1 − 2.275| > 1) and mean-square (3.13) diverge, yet λ = ½ log(1/20 · 5/2) < 0;
#: (0, 3), η = 1, B = 1: GD converges (|1 − 1.5| < 1), yet λ = ½ log 2 > 0;
#: (1, 2, 3), η = 3/4, B = 3 and η = 11/10: full batches, where SGD is GD and all three agree.
ONE_DIMENSIONAL = (
    ((sp.Rational(21, 20), sp.Rational(7, 2)), 1, 1),
    ((0, 3), 1, 1),
    ((1, 2, 3), sp.Rational(3, 4), 3),
    ((1, 2, 3), sp.Rational(11, 10), 3),
)
#: Overparameterised least squares: 4 Gaussian samples (seed 3) in 10 dimensions, B = 1, η = 0.15: GD's factor
#: 0.947, SGD's exponent +0.27 (η‖a_i‖² > 2 for two samples).
LEAST_SQUARES_SEED, LEAST_SQUARES_SHAPE, LEAST_SQUARES_STEP = 3, (4, 10), 0.15
#: The tanh network (4 samples, 13 parameters) at η = 0.9 · 2/λ_max(H̄): GD's factor 0.978; B = 1 escapes
#: (λ ≈ +0.34), B = 2 converges (λ ≈ −0.013) though its mean-square factor is 1.16.
NETWORK_STEP_FRACTION, NETWORK_BATCHES = 0.9, (1, 2)


def _least_squares_features() -> np.ndarray:
    return np.random.default_rng(LEAST_SQUARES_SEED).standard_normal(LEAST_SQUARES_SHAPE)


@functools.lru_cache(maxsize=1)
def _network():
    f, point, x, y = interpolating_network()
    family = network_family(f, point, x, y)
    eta = NETWORK_STEP_FRACTION * 2 / float(np.linalg.eigvalsh(family.mean).max())
    rates = {batch: network_sgd_rate(f, point, x, y, eta, batch, steps=400, replicates=12, burn_in=150) for batch in NETWORK_BATCHES}
    return family, eta, rates


@functools.lru_cache(maxsize=1)
def _least_squares_rates():
    cases = [(np.sqrt(np.array(h, float))[:, None], float(eta), batch) for h, eta, batch in ONE_DIMENSIONAL]
    cases.append((_least_squares_features(), LEAST_SQUARES_STEP, 1))
    return [(features, eta, batch, least_squares_sgd_rate(features, eta, batch, steps=1000, replicates=16)) for features, eta, batch in cases]


def _judge_cases(route: str, what: str, predicted: list, observed: list, labels: list[str], details: dict) -> Evidence:
    """Agree when every case's observed fate (the rate's sign, decided by its interval) is the one predicted."""
    details["cases"] = [{"case": label, "predicted_converges": p, "rate": r.value, "interval": list(r.interval)} for label, p, r in zip(labels, predicted, observed)]
    undecided = [label for label, r in zip(labels, observed) if r.sign == 0]
    if undecided:
        return Evidence(route, UNDECIDED, f"{what}: the rate's 95 % interval straddles 0 for {', '.join(undecided)}", details)
    unknown = [label for label, p in zip(labels, predicted) if p is None]
    if unknown:
        return Evidence(route, UNDECIDED, f"{what}: the criterion does not decide {', '.join(unknown)}", details)
    wrong = [f"{label} ({'escapes' if r.sign > 0 else 'converges'}, rate {r.value:+.3g} ± {r.half_width:.2g}; predicted {'converges' if p else 'escapes'})" for label, p, r in zip(labels, predicted, observed) if p != (r.sign < 0)]
    if wrong:
        return Evidence(route, DISAGREE, f"{what}: the criterion is wrong for " + "; ".join(wrong), details)
    fates = ", ".join(f"{label} {r.value:+.3g}" for label, r in zip(labels, observed))
    return Evidence(route, AGREE, f"{what}: the criterion predicts every fate (rates per step: {fates})", details)


@dataclass(frozen=True)
class LyapunovCriterion(Claim):
    """SGD beside an interpolation minimum converges to it (almost surely) exactly where ``candidate`` says."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._least_squares, candidate), timed(self._network, candidate)]

    def _least_squares(self, candidate) -> Evidence:
        labels, predicted, observed, exact = [], [], [], []
        for (h, eta, batch), (features, _, _, rate) in zip([*ONE_DIMENSIONAL, (None, LEAST_SQUARES_STEP, 1)], _least_squares_rates()):
            family = CurvatureFamily(np.einsum("ni,nj->nij", features, features))
            labels.append(f"h = ({', '.join(map(str, h))}), η = {eta}, B = {batch}" if h is not None else f"least squares {LEAST_SQUARES_SHAPE[0]}×{LEAST_SQUARES_SHAPE[1]}, η = {eta}, B = {batch}")
            predicted.append(candidate(family, float(eta), batch))
            observed.append(rate)
            exact.append(str(exact_exponent(h, eta, batch)) if h is not None else None)
        return _judge_cases("sgd-least-squares", "SGD on ½(a_iᵀx − y_i)² from beside a solution (numpy gradients)", predicted, observed, labels, {"exact_exponents": exact})

    @needs_torch("sgd-network")
    def _network(self, torch, candidate) -> Evidence:
        family, eta, rates = _network()
        labels = [f"tanh network, η = {eta:.4g}, B = {batch}" for batch in NETWORK_BATCHES]
        predicted = [candidate(family, eta, batch) for batch in NETWORK_BATCHES]
        details = {"gd_factor": gd_factor(family, eta), "mean_square_factor": {str(b): mean_square_factor(family, eta, b) for b in NETWORK_BATCHES}}
        return _judge_cases("sgd-network", "SGD on a 13-parameter tanh network (the substrate) fitting 4 points (torch autograd; Hessians by autograd)", predicted, [rates[b] for b in NETWORK_BATCHES], labels, details)


# ---------------------------------------------------------------------------
# Mean-square stability (Wu, Ma & E 2018)


#: Sizes whose every batch is enumerated exactly.
ENUMERATED_SIZES = 6
#: The Monte Carlo case: curvatures, step, batch and the number of steps whose E(x_k − x*)² is estimated.
MONTE_CARLO_CURVATURES, MONTE_CARLO_STEP, MONTE_CARLO_BATCH, MONTE_CARLO_STEPS = (0.2, 0.9, 1.7, 3.1), 0.8, 2, 3
#: Sample sizes and replicates per size of the Monte Carlo route.
MONTE_CARLO_SIZES, MONTE_CARLO_REPLICATES = (2_000, 8_000, 32_000, 128_000), 16


@dataclass(frozen=True)
class MeanSquareFactor(Claim):
    """In one dimension one SGD step multiplies E(x − x*)² by (1 − ηa)² + η² ``candidate`` s², ``candidate`` the
    variance factor of a batch of B of n samples drawn without replacement."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._inclusion, candidate), timed(self._enumeration, candidate), timed(self._monte_carlo, candidate)]

    def _inclusion(self, candidate) -> Evidence:
        second = second_moment_by_inclusion()
        gap = sp.simplify(sp.expand(1 - 2 * STEP_SIZE * SHARPNESS + STEP_SIZE**2 * second) - closed_factor(candidate))
        details = {"E_h_squared": str(second), "gap": str(gap)}
        if gap == 0:
            return Evidence("inclusion", EXACT, f"for symbolic n and B, inclusion probabilities give E h_ξ² = {second}, and E(1 − ηh_ξ)² is the factor", details)
        return Evidence("inclusion", DISAGREE, f"E(1 − ηh_ξ)² minus the factor is {gap}, not 0", details)

    def _enumeration(self, candidate) -> Evidence:
        failures = [(n, b) for n in range(2, ENUMERATED_SIZES + 1) for b in range(1, n + 1) if mean_square_identity_gap(n, b, candidate) != 0]
        details = {"sizes": f"2 ≤ n ≤ {ENUMERATED_SIZES}, 1 ≤ B ≤ n", "failures": [list(f) for f in failures]}
        if not failures:
            return Evidence("enumeration", AGREE, f"every batch enumerated, symbolic curvatures: the identity holds for all 2 ≤ n ≤ {ENUMERATED_SIZES}, 1 ≤ B ≤ n", details)
        return Evidence("enumeration", DISAGREE, f"enumerating every batch with symbolic curvatures, the identity fails at (n, B) = {', '.join(map(str, failures[:4]))}", details)

    def _monte_carlo(self, candidate) -> Evidence:
        h, eta, batch, steps = np.array(MONTE_CARLO_CURVATURES), MONTE_CARLO_STEP, MONTE_CARLO_BATCH, MONTE_CARLO_STEPS
        n = h.size
        factor = float(closed_factor(candidate).subs({SAMPLE_COUNT: n, BATCH_SIZE: batch, STEP_SIZE: eta, SHARPNESS: h.mean(), NON_UNIFORMITY: h.std()}))
        rng = np.random.default_rng(11)
        means = h[np.array(list(itertools.combinations(range(n), batch)))].mean(axis=1)  # every batch, equally likely
        estimates = {}
        for size in MONTE_CARLO_SIZES:
            x = np.ones((MONTE_CARLO_REPLICATES, size))
            for _ in range(steps):
                x *= 1 - eta * means[rng.integers(means.size, size=x.shape)]
            estimates[size] = (x**2).mean(axis=1)
        z, slope, details = replicate_statistics(estimates, factor**steps)
        details.update({"curvatures": list(MONTE_CARLO_CURVATURES), "eta": eta, "batch": batch, "steps": steps, "claimed_factor": factor})
        return judge_monte_carlo(
            "monte-carlo",
            z,
            slope,
            details,
            distance=f"E(x_{steps} − x*)² by SGD is {{z:.1f}} standard errors from the factor^{steps} = {factor**steps:.5g}",
            decay="the Monte Carlo error falls like N^{slope:.2f}, not N^-1/2",
            summary=f"E(x_{steps} − x*)² by {MONTE_CARLO_SIZES[-1]} SGD runs ×{MONTE_CARLO_REPLICATES}: within {{z:.1f}} standard errors of factor^{steps} = {factor**steps:.5g}, error ∝ N^{{slope:.2f}}",
        )


@dataclass(frozen=True)
class MeanSquareBounds(Claim):
    """Mean-square stability forces 0 ≤ a ≤ ``candidate[0]`` and 0 ≤ s ≤ ``candidate[1]``, and both bounds are sharp."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._symbolic, candidate), timed(self._families, candidate)]

    def _symbolic(self, candidate) -> Evidence:
        derived = mean_square_necessary_bounds()
        gaps = [sp.simplify(c - d) for c, d in zip(candidate, derived)]
        details = {"derived": [str(d) for d in derived], "gaps": [str(g) for g in gaps]}
        if all(g == 0 for g in gaps):
            return Evidence("symbolic", EXACT, f"each term of the factor is ≥ 0, so each is ≤ 1: a ≤ {derived[0]}, s ≤ {derived[1]}", details)
        return Evidence("symbolic", DISAGREE, f"the factor's terms give a ≤ {derived[0]}, s ≤ {derived[1]}", details)

    def _families(self, candidate) -> Evidence:
        """Two-sample curvature families h = a ± s ≥ 0 at B = 1 (n = 2, c = 1): the exact factor of every family on a grid
        that crosses each candidate bound — a stable family beyond a bound refutes it, and stable families must
        reach each bound to within the grid's spacing (else the bound is not sharp)."""
        eta, n, batch = 0.5, 2, 1
        bound_a, bound_s = (float(b.subs({STEP_SIZE: eta, SAMPLE_COUNT: n, BATCH_SIZE: batch})) for b in candidate)
        spacing = 2e-3
        problems, details = [], {"eta": eta, "n": n, "batch": batch, "bounds": [bound_a, bound_s], "spacing": spacing}
        grid_a = np.arange(0, 1.5 * bound_a, spacing * bound_a)
        grid_s = np.arange(0, 1.5 * bound_s, spacing * bound_s)
        a, s = np.meshgrid(grid_a, grid_s, indexing="ij")
        factor = ((1 - eta * (a - s)) ** 2 + (1 - eta * (a + s)) ** 2) / 2  # E(1 − ηh)², h = a ± s equally likely
        stable = (factor <= 1) & (s <= a)  # h = a − s ≥ 0: each sample's loss is minimal at x*
        if np.any(stable & (a > bound_a * (1 + 1e-12))):
            problems.append(f"a mean-square stable family has a = {a[stable].max():.4g} > {bound_a:.4g}")
        if np.any(stable & (s > bound_s * (1 + 1e-12))):
            problems.append(f"a mean-square stable family has s = {s[stable].max():.4g} > {bound_s:.4g}")
        if a[stable].max() < bound_a * (1 - 2 * spacing) or s[stable].max() < bound_s * (1 - 2 * spacing):
            problems.append(f"stable families reach only a = {a[stable].max():.4g}, s = {s[stable].max():.4g}: the bounds are not sharp")
        details.update({"largest_stable_a": float(a[stable].max()), "largest_stable_s": float(s[stable].max())})
        what = f"two-sample families h = a ± s, η = {eta:g}, B = 1, on a grid of spacing {spacing:g} of each bound"
        if problems:
            return Evidence("families", DISAGREE, f"{what}: " + "; ".join(problems), details)
        return Evidence("families", AGREE, f"{what}: no stable family passes a bound, and stable ones reach both", details)


# ---------------------------------------------------------------------------
# Stochastic modified equations (Li, Tai & E 2017, 2019)


#: Step sizes of the exact route (T = 1 a whole number of steps of each), and of the Monte Carlo route with its
#: model (small noise keeps the runs' spread below the O(η) error) and runs a step size.
EXACT_STEPS = (0.04, 0.02, 0.01)
MONTE_CARLO_MODEL, MONTE_CARLO_ETAS, MONTE_CARLO_RUNS = {"multiplicative": 0.25, "additive": 0.05}, (0.05, 0.025), 100_000


@functools.lru_cache(maxsize=1)
def _sgd_against_sme() -> tuple[list[float], list[float]]:
    """|E x_T² − E X_T²| and its standard error at each η of MONTE_CARLO_ETAS: SGD's runs against SME-1's paths by the
    weak order-2 scheme at h = η (whose own error, O(η²), is far below the O(η) measured), both Monte Carlo."""
    errors, standard = [], []
    for eta in MONTE_CARLO_ETAS:
        mean, error = sgd_second_moment(eta, runs=MONTE_CARLO_RUNS, seed=round(1 / eta), **MONTE_CARLO_MODEL)
        paths = sme_paths(0, eta, scheme="weak-2", substeps=1, runs=MONTE_CARLO_RUNS, seed=round(2 / eta), **MONTE_CARLO_MODEL) ** 2
        errors.append(abs(mean - float(paths.mean())))
        standard.append(math.hypot(error, float(paths.std(ddof=1)) / math.sqrt(paths.size)))
    return errors, standard


@dataclass(frozen=True)
class WeakOrder(Claim):
    """The SME whose drift is −∇(f + ``correction`` · η‖∇f‖²) approximates SGD in law with weak order ``order``.

    ``candidate`` is (correction, order): SME-1 is (0, 1), SME-2 (¼, 2)."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        correction, order = candidate
        evidence = [timed(self._symbolic, correction, order), timed(self._exact, correction, order)]
        if correction == 0:
            evidence.append(timed(self._monte_carlo, order))
        return evidence

    def _symbolic(self, correction, order) -> Evidence:
        try:
            found = {moment: weak_error_order(correction, moment) for moment in (1, 2)}
        except SymbolicTimeout as error:
            return Evidence("symbolic", UNDECIDED, f"the series of the weak error did not finish: {error}", {})
        details = {f"moment_{j}": {"order": p, "leading_coefficient": str(c)} for j, (p, c) in found.items()}
        least = min(p for p, _ in found.values() if p is not None)
        what = f"E x_k − E X_T and E x_k² − E X_T² expanded in η (SymPy, closed forms at kη = T): leading orders {found[1][0]} and {found[2][0]}"
        if least == order:
            return Evidence("symbolic", EXACT, what + f", so the weak order is {least}", details)
        return Evidence("symbolic", DISAGREE, what + f": the weak order is {least}, not {order}", details)

    def _exact(self, correction, order) -> Evidence:
        orders = {j: observed_orders(EXACT_STEPS, sme_weak_errors(EXACT_STEPS, correction, j)) for j in (1, 2)}
        limit = tolerance("weak_order")
        finest = [o[-1] for o in orders.values()]
        details = {"etas": list(EXACT_STEPS), "observed_orders": {str(j): o for j, o in orders.items()}, "tolerance": limit}
        what = f"exact moments at 30 digits, η = {', '.join(map(str, EXACT_STEPS))}: observed orders {', '.join(f'{o:.3f}' for o in finest)} (first, second moment, last halving)"
        if all(abs(o - float(order)) <= limit for o in finest):
            return Evidence("exact-moments", AGREE, what, details)
        return Evidence("exact-moments", DISAGREE, what + f", not {order}", details)

    def _monte_carlo(self, order) -> Evidence:
        errors, standard = _sgd_against_sme()
        observed = observed_orders(MONTE_CARLO_ETAS, errors)[0]
        spread = math.hypot(standard[0] / errors[0], standard[1] / errors[1]) / math.log(MONTE_CARLO_ETAS[0] / MONTE_CARLO_ETAS[1])
        allowed = tolerance("weak_order") + tolerance("monte_carlo_z") * spread
        details = {"etas": list(MONTE_CARLO_ETAS), "errors": errors, "standard_errors": standard, "observed_order": observed, "order_standard_error": spread, "allowed": allowed, **MONTE_CARLO_MODEL}
        what = f"{MONTE_CARLO_RUNS} SGD runs against {MONTE_CARLO_RUNS} SME-1 paths (weak order-2 scheme, h = η) a step size: observed order {observed:.3f} ± {spread:.3f}"
        if abs(observed - float(order)) <= allowed:
            return Evidence("monte-carlo", AGREE, what, details)
        return Evidence("monte-carlo", DISAGREE, what + f", not {order} (allowed ± {allowed:.2f})", details)


# ---------------------------------------------------------------------------
# The optimal learning-rate schedule on the SME of a quadratic (Li, Tai & E 2017, 2019)


#: The problem of the numeric routes: a = 1, η = 0.1, Σ = 1 (ηΣ = 0.1), x₀ = 1, T = 10; pieces of the brute force; SGD runs.
SCHEDULE_PROBLEM = {CURVATURE: 1, STEP_SIZE: sp.Rational(1, 10), ADDITIVE_NOISE: 1, START: 1}
SCHEDULE_HORIZON, SCHEDULE_PIECES, SCHEDULE_RUNS = 10.0, 40, 50_000


#: The SME problem of the numeric routes, in :func:`numerics.sgd.schedule_moment`'s terms (ηΣ = 0.1).
_SCHEDULE_SME = {"curvature": 1.0, "noise_scale": float(SCHEDULE_PROBLEM[STEP_SIZE] * SCHEDULE_PROBLEM[ADDITIVE_NOISE]), "start": 1.0, "horizon": SCHEDULE_HORIZON}


@functools.lru_cache(maxsize=1)
def _best_piecewise() -> tuple[np.ndarray, float]:
    """The brute force, once for both numeric routes and the control."""
    return best_piecewise_schedule(pieces=SCHEDULE_PIECES, **_SCHEDULE_SME)


@dataclass(frozen=True)
class OptimalSchedule(Claim):
    """The schedule ν(t) ∈ [0, 1] minimising E x_T² on the SME of ½ax² is the full rate until ``candidate[0]``, then
    ``candidate[1]``."""

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        return [timed(self._pontryagin, candidate), timed(self._piecewise, candidate), timed(self._sgd, candidate)]

    def _pontryagin(self, candidate) -> Evidence:
        derived = optimal_schedule()
        gaps = [sp.simplify(sp.sympify(candidate[0]) - derived.switching_time), sp.simplify(sp.sympify(candidate[1]) - derived.annealing)]
        residuals = schedule_hjb_residuals()
        details = {"switching_time": str(derived.switching_time), "annealing": str(derived.annealing), "terminal": str(derived.terminal), "gaps": [str(g) for g in gaps], "hjb_residuals": [str(r) for r in residuals]}
        if any(r != 0 for r in residuals):
            return Evidence("pontryagin", UNDECIDED, "the derived feedback's value function does not solve the HJB equation: optimality unproved", details)
        if all(g == 0 for g in gaps):
            return Evidence("pontryagin", EXACT, f"Pontryagin's principle gives ν = 1 until t_s = {derived.switching_time}, then {derived.annealing}, m(T) = {derived.terminal}; its value function solves the HJB equation (optimal)", details)
        return Evidence("pontryagin", DISAGREE, f"the optimal schedule is ν = 1 until t_s = {derived.switching_time}, then {derived.annealing}", details)

    def _piecewise(self, candidate) -> Evidence:
        schedule, switching = schedule_from(candidate, SCHEDULE_PROBLEM)
        claimed = schedule_moment(schedule, breaks=[switching], **_SCHEDULE_SME)
        _, best = _best_piecewise()
        gap, limit = claimed / best - 1, tolerance("schedule_relative")
        details = {"claimed_terminal": claimed, "best_piecewise_terminal": best, "pieces": SCHEDULE_PIECES, "relative_gap": gap, "tolerance": limit}
        what = f"m(T) under the candidate (DOP853) {claimed:.7g} against the best {SCHEDULE_PIECES}-piece schedule's {best:.7g} (L-BFGS-B)"
        if gap <= limit:
            return Evidence("piecewise", AGREE, what + f": no worse ({gap:+.2e})", details)
        return Evidence("piecewise", DISAGREE, what + f": {gap:.1%} worse, not optimal", details)

    def _sgd(self, candidate) -> Evidence:
        eta = float(SCHEDULE_PROBLEM[STEP_SIZE])
        problem = {"curvature": 1.0, "multiplicative": 0.0, "additive": 1.0, "start": 1.0, "horizon": SCHEDULE_HORIZON, "runs": SCHEDULE_RUNS, "seed": 5}
        rivals = {name: schedule_from(r, SCHEDULE_PROBLEM)[0] for name, r in COMMON_SCHEDULES.items()}
        rivals["best piecewise"] = piecewise_schedule(_best_piecewise()[0], SCHEDULE_HORIZON)
        mine = test_model_sgd(eta, schedule=schedule_from(candidate, SCHEDULE_PROBLEM)[0], **problem)
        z, limit = tolerance("monte_carlo_z"), tolerance("schedule_sgd_relative")
        details, beaten = {"candidate_mean": float(mine.mean()), "rivals": {}}, []
        for name, rival in rivals.items():
            theirs = test_model_sgd(eta, schedule=rival, **problem)
            difference = mine - theirs  # the same noise: a paired difference
            excess, error = float(difference.mean()), standard_error(difference)
            details["rivals"][name] = {"mean": float(theirs.mean()), "excess": excess, "standard_error": error}
            if excess > z * error + limit * float(theirs.mean()):
                beaten.append(f"{name} ({float(theirs.mean()):.5g} against {float(mine.mean()):.5g})")
        what = f"SGD with η = {eta:g}, {SCHEDULE_RUNS} runs a schedule on the same noise: E x_T² {float(mine.mean()):.5g} under the candidate"
        if beaten:
            return Evidence("sgd-runs", DISAGREE, what + "; beaten by " + ", ".join(beaten), details)
        return Evidence("sgd-runs", AGREE, what + f", beaten by none of {', '.join(rivals)}", details)


def _with_replacement():
    return 1 / BATCH_SIZE


CLAIMS = [
    LyapunovCriterion(
        "sgd.lyapunov_criterion",
        "Chemnitz & Engel (JMLR 2025): SGD accumulates at an interpolation minimum iff the top Lyapunov exponent of its random linearisation on the normal space is negative — not where GD's mean Hessian says",
        r"x_k \to x^* \text{ a.s.} \iff \lambda = \lim_k \tfrac1k \log\big\|\textstyle\prod_k (I - \eta H_{\xi_k})|_N\big\| < 0",
        literature=almost_surely_stable,
        wrong=gd_stable,
    ),
    MeanSquareFactor(
        "sgd.mean_square_factor",
        "Wu, Ma & E (NeurIPS 2018): in one dimension SGD is mean-square stable iff (1 − ηa)² + η²(n − B)/(B(n − 1)) s² ≤ 1, a the sharpness and s the non-uniformity, batches drawn without replacement",
        r"\mathbb E(1 - \eta h_\xi)^2 = (1 - \eta a)^2 + \eta^2 \tfrac{n - B}{B(n - 1)} s^2",
        literature=WITHOUT_REPLACEMENT,
        wrong=_with_replacement(),
    ),
    WeakOrder(
        "sgd.sme_first_order",
        "Li, Tai & E (2017, 2019): SME-1, dX = −∇f dt + √(ηΣ) dW, approximates SGD in law with weak order 1",
        r"\big|\mathbb E g(x_k) - \mathbb E g(X_{k\eta})\big| = O(\eta),\quad dX = -\nabla f\,dt + \sqrt{\eta\Sigma}\,dW",
        literature=(0, 1),
        wrong=(0, sp.Rational(1, 2)),
    ),
    WeakOrder(
        "sgd.sme_second_order",
        "Li, Tai & E (2017, 2019): SME-2, the drift corrected to −∇(f + (η/4)‖∇f‖²), approximates SGD in law with weak order 2",
        r"\big|\mathbb E g(x_k) - \mathbb E g(X_{k\eta})\big| = O(\eta^2),\quad dX = -\nabla\big(f + \tfrac{\eta}{4}\|\nabla f\|^2\big)dt + \sqrt{\eta\Sigma}\,dW",
        literature=(sp.Rational(1, 4), 2),
        wrong=(0, 2),
    ),
    OptimalSchedule(
        "sgd.optimal_schedule",
        "Li, Tai & E (2017, 2019): on the SME of a quadratic, the learning-rate schedule minimising E x_T² keeps the full rate until E x² = ηΣ/a, then anneals like 1/(1 + a(t − t_s))",
        r"\nu^*(t) = 1 \text{ for } t < t_s = \tfrac{1}{2a}\log\tfrac{2a x_0^2 - \eta\Sigma}{\eta\Sigma},\quad \nu^*(t) = \frac{1}{1 + a(t - t_s)} \text{ after}",
        literature=(sp.log((2 * CURVATURE * START**2 - STEP_SIZE * ADDITIVE_NOISE) / (STEP_SIZE * ADDITIVE_NOISE)) / (2 * CURVATURE), 1 / (1 + CURVATURE * (TIME - SWITCHING_TIME))),
        wrong=(0, 1 / (1 + CURVATURE * TIME)),
    ),
    MeanSquareBounds(
        "sgd.mean_square_bounds",
        "Wu, Ma & E (NeurIPS 2018): a mean-square stable minimum has sharpness 0 ≤ a ≤ 2/η and non-uniformity 0 ≤ s ≤ √(B(n − 1)/(n − B))/η",
        r"0 \le a \le \tfrac{2}{\eta},\quad 0 \le s \le \tfrac{1}{\eta}\sqrt{\tfrac{B(n - 1)}{n - B}}",
        literature=(2 / STEP_SIZE, sp.sqrt(BATCH_SIZE * (SAMPLE_COUNT - 1) / (SAMPLE_COUNT - BATCH_SIZE)) / STEP_SIZE),
        wrong=(1 / STEP_SIZE, sp.sqrt(BATCH_SIZE * (SAMPLE_COUNT - 1) / (SAMPLE_COUNT - BATCH_SIZE)) / STEP_SIZE),
    ),
]
