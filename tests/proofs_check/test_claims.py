import re
from pathlib import Path

import pytest

from dyncheck.proofs_check.claim import PROFILES
from dyncheck.proofs_check.claims import REGISTRY, select
from dyncheck.proofs_check.verdicts import PROVED, REFUTED, VERIFIED

README = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file()) / "README.md"


def test_registry_matches_readme():
    section = README.read_text().split("<!-- claims -->")[1].split("<!-- /claims -->")[0]
    assert set(re.findall(r"`([a-z_]+\.[a-z_0-9]+)`", section)) == set(REGISTRY)


def test_every_claim_has_source_and_statement():
    for claim in REGISTRY.values():
        assert claim.source and claim.statement
        assert claim.negative_control != claim.formula


def test_select():
    assert {c.id for c in select("gaussian")} == {c for c in REGISTRY if c.startswith("gaussian.")}
    assert [c.id for c in select("gaussian.erf_variance")] == ["gaussian.erf_variance"]


@pytest.mark.parametrize("claim_id", ["gaussian.erf_variance", "gaussian.relu_arccos_kernel", "gaussian.hard_tanh_variance"])
def test_claims_stand_and_controls_fall(claim_id):
    result = REGISTRY[claim_id].run(PROFILES["quick"])
    assert result.verdict in (PROVED, VERIFIED), result.reason
    assert result.control_verdict == REFUTED, result.control_reason
    routes = {e.route for e in result.evidence if e.outcome in ("exact", "agree")}
    assert len(routes) >= 2


def test_monte_carlo_rate_flattens_for_a_biased_formula():
    claim = REGISTRY["gaussian.relu_variance"]
    evidence = claim._monte_carlo(claim.negative_control, PROFILES["quick"])
    assert evidence.outcome == "disagree"
    assert evidence.details["rate_slope"] > -0.35


def test_worker_processes_judge_whole_topics():
    from dyncheck.proofs_check.runner import judge

    claims = [REGISTRY["gaussian.erf_variance"], REGISTRY["gaussian.relu_variance"], REGISTRY["control.gradient_is_hamiltonian_slope"]]
    in_workers = {r.claim_id: r for r in judge(claims, PROFILES["quick"], jobs=2)}
    assert set(in_workers) == {c.id for c in claims}
    for claim in claims:
        assert in_workers[claim.id].verdict == claim.run(PROFILES["quick"]).verdict == PROVED
        assert in_workers[claim.id].control_verdict == REFUTED


def test_every_route_of_the_erf_critical_line_judges_both_parts():
    # Each route must refute a pair with only σ_w² wrong, and one with only σ_b² wrong.
    from dyncheck.proofs_check.claims.meanfield import _ERF_LINE, _ERF_LINE_WRONG

    claim = REGISTRY["meanfield.erf_critical_line"]
    for candidate in ((_ERF_LINE_WRONG[0], _ERF_LINE[1]), (_ERF_LINE[0], _ERF_LINE_WRONG[1])):
        outcomes = {e.route: e.outcome for e in claim.routes(candidate, PROFILES["quick"])}
        assert set(outcomes.values()) == {"disagree"}, (candidate, outcomes)


def test_a_route_that_accepts_the_negative_control_fails_the_claim():
    from dyncheck.proofs_check.claim import ClaimResult
    from dyncheck.proofs_check.report import passed, table_summary
    from dyncheck.proofs_check.verdicts import AGREE, DISAGREE, Evidence

    control = [Evidence("weak", AGREE, "cannot tell"), Evidence("strong", DISAGREE, "off by 2")]
    result = ClaimResult("x.y", "s", "a = b", VERIFIED, "r", [], REFUTED, "c", control, 0.1)
    assert result.control_refuted and result.control_accepted_by == ["weak"]
    assert not passed([result]) and "accepted by weak" in table_summary([result])


def test_a_claim_whose_route_raises_is_reported_failed_and_the_others_still_run(monkeypatch):
    from dyncheck.proofs_check.report import passed
    from dyncheck.proofs_check.runner import judge

    claims = [REGISTRY["gaussian.relu_variance"], REGISTRY["gaussian.erf_variance"]]

    def broken(self, candidate, profile):
        raise RuntimeError("a bug in a route")

    monkeypatch.setattr(type(claims[0]), "routes", broken)
    results = list(judge(claims, PROFILES["quick"], jobs=1))
    assert [r.claim_id for r in results] == [c.id for c in claims]
    assert "a bug in a route" in results[0].error and not passed(results)


def test_a_control_is_excused_only_when_every_undecided_route_of_it_needs_torch():
    from dyncheck.proofs_check.claim import TORCH_ABSENT, ClaimResult
    from dyncheck.proofs_check.report import passed
    from dyncheck.proofs_check.verdicts import INCONCLUSIVE, UNDECIDED, VERIFIED, Evidence

    def result(control_evidence):
        return ClaimResult("x.y", "", "", VERIFIED, "", [], INCONCLUSIVE, "", control_evidence, 0.0)

    torch_only = result([Evidence("autograd", UNDECIDED, TORCH_ABSENT), Evidence("backprop", UNDECIDED, TORCH_ABSENT)])
    mixed = result([Evidence("autograd", UNDECIDED, TORCH_ABSENT), Evidence("quadrature", UNDECIDED, "did not converge")])
    assert passed([torch_only]) and torch_only.skipped_without_torch == ["autograd", "backprop"]
    assert not passed([mixed]) and not passed([result([])])
