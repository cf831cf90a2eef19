"""Verdicts and the evidence behind them.

* ``proved`` — an exact symbolic route established the identity;
* ``verified`` — independent numeric routes agree within declared tolerances;
* ``refuted`` — a route disagrees beyond tolerance (the counterexample is recorded);
* ``inconclusive`` — no route could decide (the reason says why).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["PROVED", "VERIFIED", "REFUTED", "INCONCLUSIVE", "VERDICTS", "Evidence", "combine", "judge_monte_carlo", "judge_width_exponent", "replicate_statistics", "standard_error", "width_exponent", "z_score"]

PROVED = "proved"
VERIFIED = "verified"
REFUTED = "refuted"
INCONCLUSIVE = "inconclusive"
VERDICTS = (PROVED, VERIFIED, REFUTED, INCONCLUSIVE)

#: Outcomes of one route.
EXACT, AGREE, DISAGREE, UNDECIDED = "exact", "agree", "disagree", "undecided"


@dataclass
class Evidence:
    """What one route found: its outcome, a one-line summary, the numbers behind it."""

    route: str
    outcome: str
    summary: str
    details: dict = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self):
        if self.outcome not in (EXACT, AGREE, DISAGREE, UNDECIDED):
            raise ValueError(f"unknown outcome {self.outcome!r}")

    def to_json(self) -> dict:
        return asdict(self)


def combine(evidence: list[Evidence]) -> tuple[str, str]:
    """The verdict of a list of route outcomes, and why."""
    against = [e for e in evidence if e.outcome == DISAGREE]
    if against:
        return REFUTED, "; ".join(f"{e.route}: {e.summary}" for e in against)
    exact = [e for e in evidence if e.outcome == EXACT]
    agree = [e for e in evidence if e.outcome == AGREE]
    if exact:
        return PROVED, f"{exact[0].route}: {exact[0].summary}" + (f"; {len(agree)} numeric route(s) agree" if agree else "")
    if len(agree) >= 2:
        return VERIFIED, f"{len(agree)} independent numeric routes agree: " + ", ".join(e.route for e in agree)
    undecided = [e for e in evidence if e.outcome == UNDECIDED]
    why = "; ".join(f"{e.route}: {e.summary}" for e in undecided) or "fewer than two routes decided"
    return INCONCLUSIVE, why


def judge_monte_carlo(route: str, z: float, slope: float, details: dict, *, distance: str, decay: str, summary: str) -> Evidence:
    """A sampling route's outcome: agree when |z| ≤ ``monte_carlo_z`` and the error falls like
    N^{-1/2} (fitted slope within ``monte_carlo_rate_slope``), disagree naming each failure.

    ``distance``, ``decay`` and ``summary`` phrase the two failures and the agreement;
    their fields ``{z}`` and ``{slope}`` are filled in.
    """
    from dyncheck.proofs_check.tolerances import tolerance

    details.update({"z": z, "rate_slope": slope})
    problems = []
    if z > tolerance("monte_carlo_z"):
        problems.append(distance.format(z=z, slope=slope))
    if abs(slope + 0.5) > tolerance("monte_carlo_rate_slope"):
        problems.append(decay.format(z=z, slope=slope))
    if problems:
        return Evidence(route, DISAGREE, "; ".join(problems), details)
    return Evidence(route, AGREE, summary.format(z=z, slope=slope), details)


def standard_error(replicates: np.ndarray) -> float:
    """The standard error of independent replicates' mean (sample standard deviation over √n)."""
    return float(np.std(replicates, ddof=1) / math.sqrt(np.size(replicates)))


def z_score(replicates: np.ndarray, target: float) -> float:
    """|mean − ``target``| in units of the replicates' standard error."""
    return abs(float(np.mean(replicates)) - target) / standard_error(replicates)


def replicate_statistics(estimates: dict[int, np.ndarray], target: float) -> tuple[float, float, dict]:
    """z of the largest-N replicates' mean against ``target``, and the fitted slope of log RMS error vs log N.

    ``estimates[N]`` holds independent replicate estimates at size N.
    """
    sizes = np.array(sorted(estimates), float)
    largest = estimates[int(sizes[-1])]
    z = z_score(largest, target)
    rms = np.array([math.sqrt(np.mean((estimates[int(n)] - target) ** 2)) for n in sizes])
    slope = float(np.polyfit(np.log(sizes), np.log(rms), 1)[0])
    return float(z), slope, {"rate_sizes": sizes.tolist(), "rate_rms": rms.tolist(), "mean_largest": float(largest.mean()), "target": target}


def width_exponent(estimates: dict[int, np.ndarray], *, resamples: int = 2000, seed: int = 0) -> tuple[float, float, dict]:
    """Fitted exponent of the replicate mean against width (log–log), with its bootstrap standard error.

    ``estimates[n]`` holds positive replicate values (a gap, a norm) at width n.
    """
    widths = np.array(sorted(estimates), float)
    means = np.array([estimates[int(n)].mean() for n in widths])
    slope = float(np.polyfit(np.log(widths), np.log(means), 1)[0])
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(resamples):
        resampled = [rng.choice(estimates[int(n)], estimates[int(n)].size).mean() for n in widths]
        boot.append(np.polyfit(np.log(widths), np.log(resampled), 1)[0])
    error = float(np.std(boot, ddof=1))
    return slope, error, {"widths": widths.tolist(), "means": means.tolist(), "exponent": slope, "exponent_standard_error": error}


def judge_width_exponent(route: str, slope: float, error: float, claimed: float, details: dict, *, bound: bool, what: str) -> Evidence:
    """Agree when the fitted exponent is within ``width_exponent`` of ``claimed`` (``bound``: at most
    ``claimed`` + that tolerance, for an O(width^claimed) upper bound); disagree otherwise."""
    from dyncheck.proofs_check.tolerances import tolerance

    limit = tolerance("width_exponent")
    details.update({"claimed_exponent": claimed, "bound": bound, "tolerance": limit})
    fits = slope <= claimed + limit if bound else abs(slope - claimed) <= limit
    relation = "≤" if bound else "="
    summary = f"{what} ∝ width^{slope:.2f} ± {error:.2f}; claimed exponent {relation} {claimed:g} (± {limit:g})"
    return Evidence(route, AGREE if fits else DISAGREE, summary, details)
