"""The SGD claims stand, every route refutes their negative controls, and the mean-square criterion stated as the
almost-sure one is refuted too."""

from __future__ import annotations

import pytest

from dyncheck.proofs_check.claim import PROFILES
from dyncheck.proofs_check.claims import REGISTRY, sgd
from dyncheck.proofs_check.verdicts import DISAGREE, PROVED, REFUTED, VERIFIED
from dyncheck.theory.sgd import COMMON_SCHEDULES

IDS = sorted(c for c in REGISTRY if c.startswith("sgd."))


@pytest.mark.parametrize("claim_id", IDS)
def test_sgd_claims_stand_and_every_route_refutes_the_control(claim_id):
    pytest.importorskip("torch")
    result = REGISTRY[claim_id].run(PROFILES["quick"])
    assert result.verdict == (VERIFIED if claim_id == "sgd.lyapunov_criterion" else PROVED), result.reason
    assert result.control_verdict == REFUTED, result.control_reason
    assert len({e.route for e in result.evidence if e.outcome in ("exact", "agree")}) >= 2
    assert all(e.outcome == DISAGREE for e in result.control_evidence), [(e.route, e.outcome) for e in result.control_evidence]


def test_the_mean_square_criterion_is_not_the_almost_sure_one():
    """Wu, Ma & E's criterion stated as Chemnitz & Engel's misses SGD that converges although E‖x − x*‖² grows:
    the one-dimensional family (21/20, 7/2) and the network at B = 2."""
    pytest.importorskip("torch")
    claim = REGISTRY["sgd.lyapunov_criterion"]
    evidence = claim.routes(sgd.mean_square_stable, PROFILES["quick"])
    assert [e.outcome for e in evidence] == [DISAGREE, DISAGREE]
    assert "21/20" in evidence[0].summary and "B = 2" in evidence[1].summary


@pytest.mark.parametrize("name", ["constant", "1/√(1 + t)"])
def test_the_usual_schedules_claimed_optimal_are_refuted_by_every_route(name):
    claim = REGISTRY["sgd.optimal_schedule"]
    evidence = claim.routes(COMMON_SCHEDULES[name], PROFILES["quick"])
    assert [e.outcome for e in evidence] == [DISAGREE] * 3, [(e.route, e.summary) for e in evidence]
