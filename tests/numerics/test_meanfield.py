"""dyncheck.numerics.meanfield: fixed points, states over grids, finite random networks, Jacobian spectra."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from dyncheck.numerics.meanfield import (
    CHAOTIC,
    NO_FIXED_POINT,
    ORDERED,
    FixedPointError,
    critical_sigma_w2,
    iterate_maps,
    jacobian_singular_values,
    jacobian_spectrum_moments,
    mean_field_state,
    simulate_network,
)
from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.theory.activations import activation
from dyncheck.theory.errors import UsageError
from dyncheck.theory.symbols import X
from dyncheck.theory.meanfield import MeanField, mean_field


def _theory(name):
    return mean_field(activation(name).expr(), name)


def test_erf_state_matches_closed_form_fixed_point():
    """q* and c* against the literature's erf variance and arcsine kernel (from the claim registry, with a = b = √q)."""
    from dyncheck.numerics.codegen import generate
    from dyncheck.proofs_check.claims import REGISTRY
    from dyncheck.theory.symbols import Q, RHO

    a, b = sp.symbols("a b", positive=True)
    variance = generate(REGISTRY["gaussian.erf_variance"].literature, (Q,))
    kernel = generate(REGISTRY["gaussian.erf_arcsine_kernel"].literature.subs({a: sp.sqrt(Q), b: sp.sqrt(Q)}), (Q, RHO))
    t = _theory("erf")
    state = mean_field_state(t, np.array([0.5, 1.5, 3.0]), np.array([0.1, 0.05, 0.2]))
    q = state.q_star
    residual = state.sigma_w2 * variance(q) + state.sigma_b2 - q
    assert np.max(np.abs(residual)) < 1e-14
    assert list(state.phase) == [ORDERED, CHAOTIC, CHAOTIC]
    chaotic = state.phase == CHAOTIC
    c, qc = state.c_star[chaotic], q[chaotic]
    c_map = (state.sigma_w2[chaotic] * kernel(qc, c) + state.sigma_b2[chaotic]) / qc
    assert np.max(np.abs(c_map - c)) < 1e-13
    assert np.all(state.chi_c[chaotic] < 1)


def test_no_fixed_point_is_reported_not_a_number():
    state = mean_field_state(_theory("relu"), np.array([2.5, 1.0]), np.array([0.1, 0.1]))
    assert state.phase[0] == NO_FIXED_POINT and np.isnan(state.q_star[0])
    assert state.q_star[1] == pytest.approx(0.2)


@pytest.mark.parametrize("sw2, sb2", [(-1.0, 0.1), (1.0, -0.1), (float("nan"), 0.1)])
def test_bad_parameters_raise(sw2, sb2):
    with pytest.raises(ValueError):
        mean_field_state(_theory("relu"), sw2, sb2)


def test_tanh_critical_sigma_w2_at_small_bias_is_on_chi_one():
    t = _theory("tanh")
    sw2, q = critical_sigma_w2(t, 0.05)
    state = mean_field_state(t, sw2, 0.05)
    assert float(state.q_star) == pytest.approx(q, rel=1e-10)
    assert float(state.chi_1) == pytest.approx(1.0, abs=1e-10)


def test_simulation_follows_maps_numpy():
    t = _theory("erf")
    q_theory, c_theory = iterate_maps(t, 1.5, 0.05, 1.0, 0.5, 4)
    sim = simulate_network(t, 1.5, 0.05, width=512, depth=4, q0=1.0, c0=0.5, seeds=32)
    for measured, theory in ((sim.q, q_theory), (sim.c, c_theory)):
        mean, error = sim.mean_and_error(measured)
        assert np.all(np.abs(mean - theory) < 5 * error + 1e-12)
    # negative control: the map without the bias is many standard errors off
    q_wrong, _ = iterate_maps(t, 1.5, 0.0, 1.0, 0.5, 4)
    mean, error = sim.mean_and_error(sim.q)
    assert abs(mean[-1] - q_wrong[-1]) > 5 * error[-1]


def test_simulation_torch_matches_numpy_statistics():
    torch = pytest.importorskip("torch")
    del torch
    t = _theory("erf")
    a = simulate_network(t, 1.5, 0.05, width=256, depth=3, q0=1.0, c0=0.5, seeds=32, backend="torch")
    b = simulate_network(t, 1.5, 0.05, width=256, depth=3, q0=1.0, c0=0.5, seeds=32)
    (ma, ea), (mb, eb) = a.mean_and_error(a.q), b.mean_and_error(b.q)
    assert np.all(np.abs(ma - mb) < 5 * np.hypot(ea, eb))


def test_orthogonal_linear_network_is_an_isometry():
    values = jacobian_singular_values(_theory("linear"), 1.0, 0.0, 1.0, width=64, depth=10, weights="orthogonal")
    assert np.allclose(values, 1.0, atol=1e-10)
    gaussian = jacobian_singular_values(_theory("linear"), 1.0, 0.0, 1.0, width=64, depth=10)
    assert gaussian.var() > 1.0  # Gaussian weights spread the spectrum (variance ≈ L)


def test_fixed_point_error_is_an_error():
    assert issubclass(FixedPointError, RuntimeError)


def test_a_grid_solves_c_star_on_kernel_tables_from_a_fresh_theory(monkeypatch):
    # Regression: the kernels are compiled lazily; a grid must still find them numeric and
    # tabulate them rather than integrate them point by point.
    from dyncheck.numerics import meanfield as nm

    built = []
    table = nm._table

    def spy(functions, name, q_range):
        built.append(name)
        return table(functions, name, q_range)

    monkeypatch.setattr(nm, "_table", spy)
    theory = MeanField(sp.tanh(X), "tanh")  # not the cached instance: nothing compiled yet
    sw2, sb2 = np.meshgrid(np.linspace(1.2, 3.0, 50), np.linspace(0.0, 0.1, 50), indexing="ij")
    state = nm.mean_field_state(theory, sw2, sb2)
    assert {"kernel", "slope_kernel"} <= set(built)
    assert np.all(state.c_star[state.phase == nm.PHASES.index("chaotic")] < 1)


@pytest.mark.parametrize("weights, width, seeds", [("gaussian", 512, 16), ("orthogonal", 256, 24)])
def test_jacobian_spectrum_variance_matches_free_probability(weights, width, seeds):
    # Pennington et al. (2017): relative variance L(μ₂/μ₁² − 1 + v_W) of the squared singular
    # values, v_W = 1 (Gaussian) or 0 (orthogonal); tanh near criticality, depth 8.
    theory, sw2, sb2, depth = _theory("tanh"), 1.76, 0.05, 8
    q_star = float(mean_field_state(theory, sw2, sb2).q_star)
    relative = np.array(
        [
            (lambda s: s.var() / s.mean() ** 2)(
                jacobian_singular_values(theory, sw2, sb2, q_star, width=width, depth=depth, weights=weights, seed=seed)
            )
            for seed in range(seeds)
        ]
    )
    error = relative.std(ddof=1) / np.sqrt(seeds)
    predicted = {}
    for ensemble in ("gaussian", "orthogonal"):
        mean, variance = jacobian_spectrum_moments(theory, sw2, sb2, depth, ensemble)
        predicted[ensemble] = variance / mean**2
    other = "orthogonal" if weights == "gaussian" else "gaussian"
    assert abs(relative.mean() - predicted[weights]) <= tolerance("monte_carlo_z") * error
    # negative control: the other ensemble's formula is far outside the standard error
    assert abs(relative.mean() - predicted[other]) > 10 * tolerance("monte_carlo_z") * error


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_network_s_weights_depend_on_its_seed_alone(backend):
    # the backward pass draws a layer again from its seed; a network is the same in any batch, on any worker
    if backend == "torch":
        pytest.importorskip("torch")
    from dyncheck.numerics.backend import ArrayBackend, child_seed

    xp = ArrayBackend(backend, "cpu", 11)
    seeds = np.random.SeedSequence(3).spawn(3)
    for ensemble in ("gaussian", "orthogonal"):

        def draw(chosen):
            return xp.numpy(xp.weights(ensemble, 8, 1.5, [xp.generator(child_seed(s, 0, 2)) for s in chosen]))

        batch = draw(seeds)
        xp.normal(5)  # draws from the backend's own generator in between change nothing
        assert np.array_equal(batch[1:], draw(seeds[1:])) and np.array_equal(batch, draw(seeds))
        assert not np.allclose(batch[0], batch[1])
        if ensemble == "orthogonal":
            assert np.allclose(batch[0] @ batch[0].T, 1.5 * np.eye(8), atol=1e-12)
    assert child_seed(np.random.SeedSequence(3), 2).generate_state(4).tolist() == seeds[2].generate_state(4).tolist()


def test_simulated_networks_are_the_same_on_processes_as_in_one_batch():
    theory, options = _theory("tanh"), dict(width=48, depth=5, q0=1.0, c0=0.3, seeds=4, seed=7)
    batch = simulate_network(theory, 1.5, 0.05, **options)
    spread = simulate_network(theory, 1.5, 0.05, jobs=2, **options)
    for name in ("q", "c", "gradient", "jacobian_msv"):
        assert np.allclose(getattr(batch, name), getattr(spread, name), rtol=1e-13, atol=0)
    other = simulate_network(theory, 1.5, 0.05, **(options | {"seed": 8}))
    assert not np.allclose(batch.q, other.q)


def test_a_phase_diagram_in_blocks_on_processes_is_the_whole_grid():
    """The grid cut into blocks of σ_w² rows, on two worker processes, against one call on the whole grid."""
    from dyncheck.numerics.meanfield import PHASES, phase_diagram

    theory = _theory("tanh")
    sw2, sb2 = np.linspace(0.5, 3.0, 70), np.linspace(0.0, 0.3, 40)
    whole = phase_diagram(theory, sw2, sb2)
    blocks = phase_diagram(theory, sw2, sb2, rows_per_task=16, jobs=2)
    assert np.array_equal(whole.phase, blocks.phase) and (whole.phase == PHASES.index("chaotic")).any()
    from dyncheck.numerics.meanfield import TABLE_RTOL_2D

    for field in ("q_star", "chi_1", "c_star", "xi_c"):
        a, b = getattr(whole, field), getattr(blocks, field)
        finite = np.isfinite(a)
        assert np.array_equal(finite, np.isfinite(b))
        # the tables span different q ranges: ≤ 1e-13 apart; c* = root of G, whose slope is χ_c − 1, amplifies
        # that by 1/(1 − χ_c) near the edge of chaos (10× margin), and ξ_c = −1/ln χ_c by ξ_c²/χ_c
        if field == "c_star":
            bound = 10 * TABLE_RTOL_2D / np.abs(1 - whole.chi_c[finite])
        elif field == "xi_c":
            bound = 10 * TABLE_RTOL_2D * a[finite] ** 2 / np.abs(1 - whole.chi_c[finite]) + 1e-12 * a[finite]
        else:
            bound = 1e-12 * np.abs(a[finite])
        assert np.all(np.abs(a[finite] - b[finite]) <= bound), field


def test_jacobian_spectrum_moments_at_relu_s_critical_point_where_every_q_is_fixed():
    # Pennington, Schoenholz & Ganguli 2017: at (σ_w², σ_b²) = (2, 0) ReLU's squared singular values have mean 1 and
    # variance 2L (Gaussian weights) or L (orthogonal), whatever q, since E[φ′²] = E[φ′⁴] = ½ at every q
    relu = mean_field(activation("relu").expr(), "relu")
    assert jacobian_spectrum_moments(relu, 2.0, 0.0, 10) == pytest.approx((1.0, 20.0), rel=1e-12)
    assert jacobian_spectrum_moments(relu, 2.0, 0.0, 10, "orthogonal") == pytest.approx((1.0, 10.0), rel=1e-12)
    with pytest.raises(UsageError, match="depend on q"):  # softplus diverges here and its moments move with q
        jacobian_spectrum_moments(mean_field(activation("softplus").expr(), "softplus"), 4.0, 0.1, 10)


def test_the_shared_scan_finds_the_first_crossing_in_every_chunk(monkeypatch):
    """φ = x³ has a stable and an unstable positive fixed point when σ_b² is small (and none when it is
    large): q* is the first, chunk by chunk, as the per-point scan of fixed_points finds it."""
    from dyncheck.numerics.meanfield import fixed_points

    theory = mean_field(X**3, "x**3")
    sw2 = np.array([0.5, 0.3, 0.8, 1.2, 0.5, 2.0, 0.05])
    sb2 = np.array([0.01, 0.05, 0.02, 0.001, 0.5, 0.0004, 1.0])
    monkeypatch.setattr("dyncheck.numerics.meanfield.SCAN_CHUNK", 2)
    state = mean_field_state(theory, sw2, sb2)
    for w, b, q_star, phase in zip(sw2, sb2, state.q_star, state.phase):
        stable = [p.q for p in fixed_points(theory, w, b) if p.stable and p.q > 0]
        if stable:
            assert q_star == pytest.approx(stable[0], rel=1e-13)
        else:
            assert phase == NO_FIXED_POINT and np.isnan(q_star)
    assert np.sum(state.phase == NO_FIXED_POINT) >= 1 and np.sum(np.isfinite(state.q_star)) >= 4
