"""The catalogue: every claim, by topic module, in one registry.

Each topic module ``proofs_check/claims/<topic>.py`` lists its claims in
``CLAIMS``; a claim's id starts with its topic (``gaussian.erf_variance``).
"""

from __future__ import annotations

import fnmatch

from dyncheck.proofs_check.claim import Claim
from dyncheck.proofs_check.claims import affine, control, gaussian, gradient_descent, kernels, kuramoto, meanfield, meanfield_training, node, sgd

__all__ = ["LONGEST_FIRST", "REGISTRY", "TOPICS", "select"]

TOPICS = (gaussian, meanfield, control, kuramoto, kernels, gradient_descent, sgd, affine, node, meanfield_training)

#: The order in which worker processes take the topics: longest first, so that no worker is left with a
#: long topic at the end (seconds of a quick run on 2 cores, 2026-12-02, two topics at a time: kernels 50,
#: gaussian 40, meanfield 36, kuramoto 29, sgd 15, control 14, affine 13, gradient_descent 9, node 8,
#: meanfield_training 8).  It changes when results arrive, never what they are, nor the report's catalogue order.
LONGEST_FIRST = ("kernels", "gaussian", "meanfield", "kuramoto", "sgd", "control", "affine", "gradient_descent", "node", "meanfield_training")


def _gather() -> dict[str, Claim]:
    registry: dict[str, Claim] = {}
    for module in TOPICS:
        topic = module.__name__.rsplit(".", 1)[-1]
        for claim in module.CLAIMS:
            if claim.id in registry:
                raise ValueError(f"duplicate claim id {claim.id}")
            if not claim.id.startswith(topic + "."):
                raise ValueError(f"claim {claim.id} must be named after its topic {topic!r}")
            registry[claim.id] = claim
    return registry


#: Every claim, by id.
REGISTRY: dict[str, Claim] = _gather()


def select(pattern: str | None) -> list[Claim]:
    """Claims whose id matches the glob ``pattern`` or starts with it (all when None)."""
    claims = list(REGISTRY.values())
    if not pattern:
        return claims
    return [c for c in claims if fnmatch.fnmatch(c.id, pattern) or c.id.startswith(pattern)]
