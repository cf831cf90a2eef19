"""Claims from the literature, and how each is judged.

A :class:`Claim` is one statement (id, source, LaTeX statement) with two or
more independent routes.  Running it judges the literature's formula *and* a
deliberately wrong formula (the negative control) by the same routes: the
claim stands only if the formula is proved or verified and the control is
refuted — a check that cannot fail is a defect.

Claims live by topic in ``proofs_check/claims/<topic>.py``; each module lists
its claims in ``CLAIMS`` and :data:`proofs_check.claims.REGISTRY` gathers them.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

from dyncheck.proofs_check.verdicts import AGREE, EXACT, INCONCLUSIVE, REFUTED, UNDECIDED, Evidence, combine

__all__ = ["PROFILES", "TORCH_ABSENT", "Claim", "ClaimResult", "Profile", "failed_result", "needs_torch", "timed"]


@dataclass(frozen=True)
class Profile:
    """How hard each route works.  ``quick`` is the default of ``dyncheck verify``."""

    name: str
    quadrature_points: int  # parameter points of the double-precision route
    high_precision_points: int  # points of the 40-digit route (one-variable expectations)
    bivariate_high_precision: bool  # nested 40-digit quadrature costs ~minute a point
    monte_carlo_samples: int  # draws of the z-test
    monte_carlo_replicates: int  # replicates per N of the rate test
    monte_carlo_sizes: tuple[int, ...]  # N of the rate test


PROFILES = {
    "quick": Profile("quick", 128, 3, False, 1 << 20, 64, (256, 1024, 4096, 16384)),
    "full": Profile("full", 1024, 8, True, 1 << 22, 128, (256, 1024, 4096, 16384, 65536)),
}


@dataclass
class ClaimResult:
    """Verdict of a claim, the evidence, and the negative control's verdict."""

    claim_id: str
    source: str
    statement: str
    verdict: str
    reason: str
    evidence: list[Evidence]
    control_verdict: str
    control_reason: str
    control_evidence: list[Evidence]
    seconds: float
    error: str | None = None

    @property
    def control_refuted(self) -> bool:
        return self.control_verdict == REFUTED

    @property
    def control_accepted_by(self) -> list[str]:
        """Routes that accepted the negative control: such a route cannot tell the formula from a
        mistake, so it is not evidence, and the claim does not pass until its design is fixed."""
        return [e.route for e in self.control_evidence if e.outcome in (EXACT, AGREE)]

    @property
    def control_waits_for_torch(self) -> bool:
        """The control is unrefuted only because torch is not installed: every route of it left undecided needs torch."""
        undecided = [e for e in self.control_evidence if e.outcome == UNDECIDED]
        return bool(undecided) and all(e.summary == TORCH_ABSENT for e in undecided)

    @property
    def skipped_without_torch(self) -> list[str]:
        """Routes (of the claim or its control) not run because torch is not installed."""
        return list(dict.fromkeys(e.route for e in self.evidence + self.control_evidence if e.outcome == UNDECIDED and e.summary == TORCH_ABSENT))

    def to_json(self) -> dict:
        return {
            "id": self.claim_id,
            "source": self.source,
            "statement": self.statement,
            "verdict": self.verdict,
            "reason": self.reason,
            "evidence": [e.to_json() for e in self.evidence],
            "negative_control": {
                "verdict": self.control_verdict,
                "reason": self.control_reason,
                "accepted_by": self.control_accepted_by,
                "evidence": [e.to_json() for e in self.control_evidence],
            },
            "seconds": round(self.seconds, 3),
            "error": self.error,
        }


def failed_result(claim: Claim, error: str) -> ClaimResult:
    """The result of a claim whose judging raised: inconclusive, with the error, never a pass."""
    why = f"judging failed with an error: {error.strip().splitlines()[-1]}"
    return ClaimResult(claim.id, claim.source, claim.statement, INCONCLUSIVE, why, [], INCONCLUSIVE, why, [], 0.0, error)


def timed(route, *args) -> Evidence:
    """``route(*args)``, with the seconds it took recorded on its evidence."""
    start = time.perf_counter()
    evidence = route(*args)
    evidence.seconds = round(time.perf_counter() - start, 3)
    return evidence


#: The summary of a route that needs torch where torch is absent.
TORCH_ABSENT = "torch is not installed"


def needs_torch(route: str):
    """Decorate a route that needs torch: it gets the module, or is undecided where torch is absent."""

    def decorate(method):
        @functools.wraps(method)
        def run(self, *args):
            try:
                import torch
            except ImportError:
                return Evidence(route, UNDECIDED, TORCH_ABSENT)
            return method(self, torch, *args)

        return run

    return decorate


@dataclass(frozen=True)
class Claim:
    """A statement from the literature and the routes that judge it.

    ``literature`` is the claimed formula or value and ``wrong`` the negative
    control, a plausible mistake.  Subclasses implement :meth:`routes`, which
    judges a candidate (either of them) and returns one
    :class:`~proofs_check.verdicts.Evidence` a route.
    """

    id: str
    source: str
    statement: str
    literature: object = field(kw_only=True)
    wrong: object = field(kw_only=True)
    tags: tuple[str, ...] = field(default=(), kw_only=True)

    def __post_init__(self):
        if self.wrong == self.literature:
            raise ValueError(f"{self.id}: the negative control equals the formula")

    def routes(self, candidate, profile: Profile) -> list[Evidence]:
        raise NotImplementedError

    @property
    def formula(self):
        return self.literature

    @property
    def negative_control(self):
        return self.wrong

    def run(self, profile: Profile) -> ClaimResult:
        start = time.perf_counter()
        evidence = self.routes(self.formula, profile)
        verdict, reason = combine(evidence)
        control = self.routes(self.negative_control, profile)
        control_verdict, control_reason = combine(control)
        return ClaimResult(
            self.id,
            self.source,
            self.statement,
            verdict,
            reason,
            evidence,
            control_verdict,
            control_reason,
            control,
            time.perf_counter() - start,
        )
