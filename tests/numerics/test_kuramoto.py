"""dyncheck.numerics.kuramoto: populations simulated on graphs against the continuum theory."""

import numpy as np
import pytest
import sympy as sp

from dyncheck.proofs_check.tolerances import tolerance
from dyncheck.theory.kuramoto import critical_coupling, gaussian, lorentzian
from dyncheck.theory.symbols import GAMMA, K


def test_simulated_lorentzian_population_reaches_the_ott_antonsen_steady_state():
    from dyncheck.numerics.kuramoto import frequencies, simulate

    n, width, coupling = 2000, 0.5, 2.0
    trajectory = simulate(frequencies("lorentzian", n, width), coupling, 60.0, 0.05, seed=1)
    r_inf = float(sp.sqrt(1 - 2 * GAMMA / K).subs({GAMMA: width, K: coupling}))
    bound = tolerance("finite_population_r") / np.sqrt(n)
    measured = trajectory.stationary(40.0)[0][0]
    assert abs(measured - r_inf) <= bound
    # negative control: r = √(1 − γ/K) is far outside the finite-size band
    assert abs(measured - np.sqrt(1 - width / coupling)) > 5 * bound


def test_bad_populations_are_refused():
    from dyncheck.numerics.kuramoto import erdos_renyi, frequencies, ring_lattice, simulate

    with pytest.raises(ValueError, match="at least 2"):
        frequencies("lorentzian", 1, 0.5)
    with pytest.raises(ValueError, match="unknown frequency density"):
        frequencies("cauchy", 10, 0.5)
    with pytest.raises(ValueError, match="non-negative"):
        simulate(np.zeros(4), -1.0, 1.0, 0.1)
    with pytest.raises(ValueError, match="positive"):
        simulate(np.zeros(4), 1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="edge probability"):
        erdos_renyi(10, 1.5)
    with pytest.raises(ValueError, match="neighbours"):
        ring_lattice(10, 5)
    with pytest.raises(ValueError, match="adjacency is 3"):
        simulate(np.zeros(4), 1.0, 1.0, 0.1, graph=np.ones((3, 3)))


def test_simulated_uniform_population_jumps():
    from dyncheck.numerics.kuramoto import frequencies, simulate
    from dyncheck.theory.kuramoto import uniform, uniform_locked_branch
    from dyncheck.theory.symbols import DELTA

    n = 4000
    k_c = float(critical_coupling(uniform()).subs(DELTA, 1))
    coupling, order, theta0 = uniform_locked_branch()
    # on the fully locked branch at θ₀ = 0.9: K = 4/(1.8 + sin 1.8) ≈ 1.13 K_c, r ≈ 0.885
    k_on, r_on = float(coupling.subs({theta0: 0.9, DELTA: 1})), float(order.subs(theta0, 0.9))
    omega = np.repeat(frequencies("uniform", n, 1.0, seed=3), 2, axis=1)
    trajectory = simulate(omega, np.array([0.9 * k_c, k_on]), 80.0, 0.1, seed=4)
    below, above = trajectory.stationary(40.0)[0]
    assert below <= 3 / np.sqrt(n * 0.1)
    assert abs(above - r_on) <= tolerance("finite_population_r") / np.sqrt(n)


def test_graphon_and_ring_eigenvalues_in_closed_form():
    from dyncheck.numerics.kuramoto import ring_lattice, top_eigenvalue
    from dyncheck.theory.kuramoto import circulant_eigenvalue, ring_lattice_eigenvalue

    n, k = 24, 5
    closed = sorted(float(ring_lattice_eigenvalue(n, k, m)) for m in range(n))
    numeric = np.linalg.eigvalsh(ring_lattice(n, k).toarray())
    assert np.allclose(closed, numeric, atol=1e-12)
    assert top_eigenvalue(ring_lattice(n, k)) == pytest.approx(2 * k, rel=1e-12)
    s, mode, rho = sp.Symbol("s", real=True), sp.Symbol("k", integer=True, nonzero=True), sp.Symbol("rho", positive=True)
    assert sp.simplify(circulant_eigenvalue(sp.Integer(1), s, mode, rho) - sp.sin(2 * sp.pi * mode * rho) / (sp.pi * mode)) == 0
    # a cosine kernel p + q cos 2π(x − y): eigenvalue p on the constant mode, q/2 on mode 1
    p, q = sp.symbols("p q", positive=True)
    kernel = p + q * sp.cos(2 * sp.pi * s)
    assert circulant_eigenvalue(kernel, s, 0) == p and sp.simplify(circulant_eigenvalue(kernel, s, 1) - q / 2) == 0


def test_erdos_renyi_and_w_random_graphs_have_their_densities():
    from dyncheck.numerics.kuramoto import erdos_renyi, w_random_graph

    n, p = 3000, 0.01
    graph = erdos_renyi(n, p, seed=1)
    pairs = n * (n - 1) / 2
    assert (graph != graph.T).nnz == 0 and graph.diagonal().sum() == 0 and graph.max() == 1
    assert abs(graph.nnz / 2 - p * pairs) <= 4.5 * np.sqrt(pairs * p * (1 - p))
    product = w_random_graph(lambda x, y: x * y, 1500, seed=2)  # ∫∫ xy = 1/4
    assert abs(product.nnz / 1500**2 - 0.25) < 0.01
    with pytest.raises(ValueError, match=r"\[0, bound"):
        w_random_graph(lambda x, y: 2 * x, 100)


def test_steady_state_order_from_generated_code():
    from dyncheck.numerics.kuramoto import steady_state_order

    couplings = np.array([0.5, 0.999, 1.2, 3.0, 10.0])
    exact = np.sqrt(np.clip(1 - 1.0 / couplings, 0, None))  # γ = 1/2: r∞ = √(1 − 2γ/K)
    assert np.allclose(steady_state_order(lorentzian(sp.Float(0.5)), couplings), exact, rtol=0, atol=1e-12)


def test_locking_threshold_is_the_minimum_over_u():
    from dyncheck.numerics.kuramoto import frequencies, locking_threshold

    omega = frequencies("gaussian", 30, 1.0)[:, 0]
    u = np.linspace(np.abs(omega).max(), 3 * np.abs(omega).max(), 200001)
    brute = (u / np.sqrt(1 - (omega[:, None] / u) ** 2).mean(axis=0)).min()
    assert locking_threshold(omega) == pytest.approx(brute, rel=1e-9)
    assert locking_threshold(omega) <= brute


@pytest.mark.parametrize(("method", "order"), [("rk4", 4), ("heun", 2)])
def test_fixed_step_integrators_converge_at_their_order(method, order):
    from dyncheck.numerics.kuramoto import erdos_renyi, frequencies, simulate, simulate_adaptive

    omega, graph = frequencies("gaussian", 40, 1.0, seed=1)[:, 0], erdos_renyi(40, 0.3, seed=2)
    theta0 = np.random.default_rng(3).uniform(0, 2 * np.pi, 40)
    exact = simulate_adaptive(omega, 4.0, 2.0, graph=graph, theta0=theta0, samples=2, rtol=1e-13, atol=1e-13).theta[:, -1]
    errors = [np.abs(simulate(omega, 4.0, 2.0, h, graph=graph, theta0=theta0, method=method).theta[:, 0] - exact).max() for h in (0.02, 0.01)]
    assert abs(np.log2(errors[0] / errors[1]) - order) <= 0.1


def test_torch_backend_agrees_with_numpy():
    torch = pytest.importorskip("torch")
    from dyncheck.numerics.kuramoto import erdos_renyi, frequencies, simulate

    assert torch
    omega = frequencies("lorentzian", 300, 0.5, systems=3, seed=1)
    for graph in (None, erdos_renyi(300, 0.1, seed=2)):
        a = simulate(omega, [1.0, 2.0, 4.0], 5.0, 0.05, graph=graph, seed=3)
        b = simulate(omega, [1.0, 2.0, 4.0], 5.0, 0.05, graph=graph, seed=3, backend="torch")
        assert np.abs(a.theta - b.theta).max() < 1e-10 and np.abs(a.r - b.r).max() < 1e-12


def test_degree_normalisation():
    import scipy.sparse as sps

    from dyncheck.numerics.kuramoto import frequencies, simulate

    n = 50
    omega = frequencies("gaussian", n, 1.0)
    complete = sps.csr_matrix(np.ones((n, n)) - np.eye(n))
    by_degree = simulate(omega, 2.0, 3.0, 0.05, graph=complete, normalisation="degree", seed=1)
    by_population = simulate(omega, 2.0 * n / (n - 1), 3.0, 0.05, seed=1)
    assert np.abs(by_degree.theta - by_population.theta).max() < 1e-12
    split = sps.block_diag([complete[:25, :25], complete[:25, :25]]).tocsr()
    with pytest.raises(ValueError, match="connected graph"):
        simulate(omega, 2.0, 1.0, 0.1, graph=split, normalisation="degree")
    with pytest.raises(ValueError, match="fixed-step method"):
        simulate(omega, 2.0, 1.0, 0.1, method="rk5")


@pytest.mark.gpu
def test_cuda_backend_agrees_with_numpy():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    from dyncheck.numerics.kuramoto import erdos_renyi, frequencies, simulate

    omega = frequencies("gaussian", 4000, 1.0, systems=2, seed=1)
    for graph in (None, erdos_renyi(4000, 0.01, seed=2)):
        cpu = simulate(omega, [2.0, 30.0], 5.0, 0.05, graph=graph, seed=3)
        gpu = simulate(omega, [2.0, 30.0], 5.0, 0.05, graph=graph, seed=3, backend="torch", device="cuda")
        assert gpu.device == "cuda" and np.abs(cpu.r - gpu.r).max() < 1e-10


def test_w_random_graph_synchronises_at_the_top_eigenvalue_of_its_graphon():
    # W(x, y) = xy: rank one, eigenfunction x, μ_max = ∫₀¹ x² dx = 1/3 (Chiba & Medvedev 2019)
    from dyncheck.numerics.kuramoto import frequencies, simulate, top_eigenvalue, w_random_graph
    from dyncheck.theory.kuramoto import graph_critical_coupling

    x = sp.Symbol("x")
    mu = sp.integrate(x**2, (x, 0, 1))
    k_c = float(graph_critical_coupling(gaussian(sp.Integer(1)), mu))
    n, eta = 1000, tolerance("critical_coupling_bracket")
    graph = w_random_graph(lambda a, b: a * b, n, seed=4)
    omega = np.repeat(frequencies("gaussian", n, 1.0, seed=5), 2, axis=1)
    below, above = simulate(omega, [(1 - eta) * k_c, (1 + eta) * k_c], 40.0, 0.2, graph=graph, seed=6).stationary(20.0)[0]
    bound = 3 / np.sqrt(n * eta)
    assert below <= bound < above
    # the sampled graph's top eigenvalue over N is μ_max = 1/3 (to O(N^{-1/2})), not the mean degree ∫∫W = 1/4
    assert abs(top_eigenvalue(graph) / n - float(mu)) < 1 / np.sqrt(n) < abs(top_eigenvalue(graph) / n - 0.25)


def test_degree_normalisation_all_to_all_is_k_over_n_minus_1():
    import scipy.sparse as sps

    from dyncheck.numerics.kuramoto import frequencies, simulate

    n = 40
    omega = frequencies("gaussian", n, 1.0)
    implicit = simulate(omega, 2.0, 3.0, 0.05, normalisation="degree", seed=1)
    explicit = simulate(omega, 2.0, 3.0, 0.05, graph=sps.csr_matrix(np.ones((n, n)) - np.eye(n)), normalisation="degree", seed=1)
    assert np.abs(implicit.theta - explicit.theta).max() < 1e-12


@pytest.mark.parametrize("method", ["rk4", "dop853"])
def test_populations_are_the_same_on_processes_as_in_one_batch(method):
    from dyncheck.numerics.kuramoto import simulate_populations

    options = dict(method=method, seed=4, graph=None)
    batch = simulate_populations("gaussian", 64, 1.0, [0.5, 3.0], 2, 4.0, 0.1, **options)
    spread = simulate_populations("gaussian", 64, 1.0, [0.5, 3.0], 2, 4.0, 0.1, jobs=2, **options)
    assert batch.r.shape == spread.r.shape == (4, 41)
    assert np.allclose(batch.r, spread.r, rtol=1e-12, atol=0)
    # each system draws its own initial phases: the replicates differ, and the strong coupling synchronises
    assert not np.allclose(batch.r[2], batch.r[3])
    assert batch.r[2:, -1].min() > 0.8 > batch.r[:2, -1].max()


def test_nystrom_converges_to_the_graphon_s_top_eigenvalue_and_refuses_non_probabilities():
    from dyncheck.numerics.kuramoto import graphon_top_eigenvalue
    from dyncheck.theory.errors import UsageError

    top, by_size = graphon_top_eigenvalue(lambda x, y: x * y)
    errors = [abs(v - 1 / 3) for v in by_size.values()]
    assert abs(top - 1 / 3) < 1e-7 and all(b < a / 3 for a, b in zip(errors, errors[1:]))  # O(n⁻²): ×4 a doubling
    with pytest.raises(UsageError, match=r"\[0, 1\]"):
        graphon_top_eigenvalue(lambda x, y: 2 * x * y)


def test_graphon_steady_state_is_the_complete_graph_law_for_constant_graphons_and_zero_below_k_c():
    from dyncheck.numerics.kuramoto import graphon_steady_state, steady_state_order

    g = gaussian(sp.Integer(1))
    couplings = np.array([1.0, 3.0, 5.0, 9.0])
    # W ≡ p: the local field is p K r everywhere, so r∞ is the complete graph's at p K (to rounding)
    assert np.abs(graphon_steady_state(lambda x, y: 0.5 + 0 * x, g, couplings, size=64) - steady_state_order(g, 0.5 * couplings)).max() < 1e-12
    # W = xy, K_c = 3σ√(8/π) ≈ 4.787: zero below, positive above, increasing, and O(n⁻²) in the grid
    coarse, fine = (graphon_steady_state(lambda x, y: x * y, g, couplings, size=n) for n in (256, 512))
    assert coarse[0] == coarse[1] == 0 and 0 < coarse[2] < coarse[3]
    assert np.abs(coarse - fine).max() < 1e-5


def test_sparse_w_random_graphs_have_the_expected_edges_and_refuse_bad_scales():
    from dyncheck.numerics.kuramoto import sparse_exponent_scale, w_random_graph
    from dyncheck.theory.errors import UsageError

    n = 4000
    p = sparse_exponent_scale(n, 0.5)
    graph = w_random_graph(lambda x, y: x * y, n, edge_scale=p, seed=1)
    expected = p * n * (n - 1) / 2 / 4  # p ∫∫ W over the pairs
    assert abs(graph.nnz / 2 - expected) < 5 * np.sqrt(expected) and graph.max() == 1
    for bad in (-0.1, 1.5):
        with pytest.raises(UsageError, match="exponent"):
            sparse_exponent_scale(n, bad)
    with pytest.raises(UsageError, match="scale"):
        w_random_graph(lambda x, y: x * y, n, edge_scale=0.0)


def test_r_inf_is_zero_at_k_c_to_rounding_and_grows_as_the_root_of_k_minus_k_c():
    """sech(ω)/π has K_c = 2 exactly: at K = 2 r∞ is 0 (rounding put ~1e-8 there), and just above it r∞ ∝ √(K − K_c)."""
    import sympy as sp

    from dyncheck.numerics.kuramoto import steady_state_order
    from dyncheck.theory.symbols import OMEGA

    g = 1 / (sp.pi * sp.cosh(OMEGA))
    at, near, four_times_as_far = steady_state_order(g, 2.0 * (1 + np.array([0.0, 1e-4, 4e-4])))
    assert at == 0.0 and near > 0
    assert four_times_as_far / near == pytest.approx(2.0, rel=1e-2)
