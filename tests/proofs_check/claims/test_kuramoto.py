"""The Kuramoto claims stand and their negative controls fall; the near-onset coefficient."""

import numpy as np
import pytest
import sympy as sp

from dyncheck.proofs_check.claim import PROFILES
from dyncheck.proofs_check.claims import REGISTRY
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.proofs_check.verdicts import PROVED, REFUTED, VERIFIED
from dyncheck.theory.kuramoto import critical_coupling, gaussian, lorentzian
from dyncheck.theory.symbols import OMEGA, SIGMA


def test_near_onset_coefficient_is_the_published_one_and_the_exact_root_approaches_it():
    from dyncheck.proofs_check.claims.kuramoto import _gaussian_root_mp
    from dyncheck.theory.kuramoto import near_onset_coefficient

    for g in (gaussian(), lorentzian()):
        k_c = critical_coupling(g)
        published = 16 / (sp.pi * k_c**4 * -sp.diff(g, OMEGA, 2).subs(OMEGA, 0))
        assert sp.simplify(near_onset_coefficient(g) - published) == 0
    # r² / (C (K − K_c)) → 1 at first order in K − K_c, for the exact (Bessel) Gaussian root
    c = float(near_onset_coefficient(gaussian()).subs(SIGMA, 1))
    k_c = float(critical_coupling(gaussian()).subs(SIGMA, 1))
    errors = [abs(float(_gaussian_root_mp(k_c * (1 + e))) ** 2 / (c * k_c * e) - 1) for e in (1e-3, 1e-4)]
    assert abs(np.log10(errors[0] / errors[1]) - 1) <= tolerance("convergence_order")
    # negative control: half the coefficient is off by a factor 2, not by O(K − K_c)
    assert abs(float(_gaussian_root_mp(k_c * 1.0001)) ** 2 / (c / 2 * k_c * 1e-4) - 1) > 0.9


@pytest.mark.parametrize("claim_id", [c for c in REGISTRY if c.startswith("kuramoto.")])
def test_kuramoto_claims_stand_and_controls_fall(claim_id):

    result = REGISTRY[claim_id].run(PROFILES["quick"])
    assert result.verdict in (PROVED, VERIFIED), result.reason
    assert result.control_verdict == REFUTED, result.control_reason
    # every route has teeth on its own: each one that decides refutes the control
    decided = [e for e in result.control_evidence if e.outcome != "undecided"]
    assert len(decided) >= 2 and all(e.outcome == "disagree" for e in decided)
