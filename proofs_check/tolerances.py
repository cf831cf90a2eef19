"""Every tolerance dyncheck uses, in one table, each with its reason.

Tolerances are never tuned to pass: each comes from the working precision,
the conditioning of the quantity, or the standard error of an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TOLERANCES", "Tolerance", "relative_difference", "tolerance"]


@dataclass(frozen=True)
class Tolerance:
    name: str
    value: float
    reason: str


_TABLE = [
    Tolerance(
        "high_precision_relative",
        1e-25,
        "Values are computed with 40 working digits: closed forms are exact to ~1e-38 and mpmath's "
        "tanh–sinh quadrature on pieces split at every kink has error estimates below 1e-30; 1e-25 "
        "keeps five digits of margin and is 17 orders of magnitude below the 1e-8 errors that must "
        "be refuted.",
    ),
    Tolerance(
        "high_precision_floor_fraction",
        0.75,
        "The identity checker's rounding floor at d working digits is 10^(−0.75·d) of the terms' size: "
        "closed forms are exact to ~10^(−d) and tanh–sinh quadrature split at every kink reaches "
        "~10^(−0.9·d); a quarter of the digits is kept for the conditioning of the expression.  A "
        "difference above the floor counts only if the next level of escalation reproduces it.",
    ),
    Tolerance(
        "quadrature_floor_fraction",
        0.5,
        "The rounding floor of the identity checker when a side holds an expectation without a "
        "closed form: 10^(−d/2) of the terms' size at d digits.  tanh–sinh quadrature's error is "
        "not rounding: it need not shrink with the working precision, and its estimate is not a "
        "bound (measured: a systematic 9e-44 on E[tanh²(√q z)] at q = 0.1 at both 50 and 70 digits, "
        "with a smaller estimate).  d/2 keeps 13 orders of margin over that at 60 digits, while a "
        "difference of 1e-25 (far below any double-precision formula's error) is still refuted at 60.",
    ),
    Tolerance(
        "escalation_persistence",
        0.05,
        "A difference between the sides is real when two successive precisions (e.g. 40 and 60 "
        "digits) give the same value to within 5 %: rounding noise shrinks by ~20 orders of "
        "magnitude from one level to the next, so it cannot repeat itself to 5 %.",
    ),
    Tolerance(
        "high_precision_digits",
        40,
        "Working digits of the high-precision route (the verdict claims ≥ 30 significant digits).",
    ),
    Tolerance(
        "double_quadrature_relative",
        1e-12,
        "The generated double-precision rule reaches ~1e-15 on every registered activation "
        "(tests pin it to mpmath); 1e-12 allows for the condition number of sums of up to ~10⁴ "
        "terms of mixed sign (≤ 10³ ulp).",
    ),
    Tolerance(
        "double_quadrature_absolute",
        1e-14,
        "Floor for values that vanish (e.g. E[relu(u)relu(v)] at ρ = −1): absolute error of a sum "
        "of O(1) terms in double precision.",
    ),
    Tolerance(
        "super_gaussian_quadrature_relative",
        1e-9,
        "Integrands that decay faster than the Gaussian (exp(−a z⁴)): the sinh-mapped panels, sized for "
        "e^{−z²/2}, measure 7e-11 to 1.7e-10 against mpmath at a = 1 to 10⁴; 1e-9 leaves a factor 5.",
    ),
    Tolerance(
        "chebyshev_table_relative",
        1e-13,
        "Tables (numerics.chebyshev) hold each cell's neglected Chebyshev coefficients below 1e-14 of "
        "the cell's scale; the interpolation error is at most a few times the tail (Trefethen, ATAP "
        "ch. 8), and the tabulated values carry the quadrature's ~1e-15.  1e-13 leaves a factor 10 "
        "for both, and is still ten times inside the 1e-12 that the quadrature is held to.",
    ),
    Tolerance(
        "monte_carlo_z",
        4.5,
        "Largest |mean − claim| / standard error accepted.  With ≤ 20 independent z-tests per "
        "verify run, a true claim fails with probability < 20 × 6.8e-6 ≈ 1.4e-4.",
    ),
    Tolerance(
        "monte_carlo_rate_slope",
        0.15,
        "Allowed deviation of the fitted slope of log RMS error vs log N from −1/2.  With 64 "
        "replicates per N the RMS is known to ±9% (1/√(2·64)); over a 64-fold range of N this "
        "moves the fitted slope by ≲ 0.05, so 0.15 is three of its standard errors.",
    ),
    Tolerance(
        "derivative_relative",
        1e-10,
        "Costates and gradients by the maximum principle against reverse-mode autograd, the "
        "complex step or a linear solve: the same products in another order, each exact to "
        "rounding (the complex step has no subtraction).  Rounding grows like depth × 1e-16 × the "
        "conditioning of the layer Jacobians: measured ≤ 7e-15 on the checked networks and LQ "
        "problems, so 1e-10 keeps four decades of margin while a wrong sign or a lost 1/S "
        "(relative error ≥ 1/S ≥ 1e-2) cannot pass.",
    ),
    Tolerance(
        "convergence_order",
        0.05,
        "Observed order log₂(e(h)/e(h/2)) at the finest step pair against the claimed order.  The "
        "error's next term shifts it by O(h) (measured 0.995 for first order at h = 1/512, the "
        "adjoint ODE solved to ~1e-10 ≪ e(h) ~ 1e-3), so 0.05 keeps a factor 5 while a claimed "
        "order off by one cannot pass.",
    ),
    Tolerance(
        "finite_population_r",
        1.0,
        "Coefficient c of the bound |⟨r⟩_t − r∞| ≤ c/√N for a simulated Kuramoto population: r "
        "fluctuates by O(N^{-1/2}) about its N → ∞ value (Daido 1990); measured 5.5e-4 at N = 2000 "
        "(bound 2.2e-2) and 3.6e-5 at N = 20000 with quantile frequencies.  The same bound holds the "
        "RMS over time of r(t) − r_OA(t) from random initial phases: measured ≤ 0.55/√N over 32 "
        "Lorentzian populations of 10⁴ and 4·10⁴.",
    ),
    Tolerance(
        "critical_coupling_bracket",
        0.3,
        "Relative distance η from a claimed K_c at which a simulated population (N = 1000) must be "
        "incoherent below and coherent above.  Finite size smears the transition over |K/K_c − 1| ~ "
        "N^{-2/5} ≈ 0.06 (Hong, Chaté, Park & Tang 2007), so η = 0.3 keeps a factor 5; a K_c off "
        "by a factor ≥ 1.5 (a lost 2, a lost eigenvalue) lands a bracket side in the wrong phase.",
    ),
    Tolerance(
        "graphon_nystrom_relative",
        1e-5,
        "Relative error allowed a graphon's μ_max, K_c or r∞ computed on the Nyström midpoint grid (2048 points for "
        "μ_max, 1024 for r∞) against the exact spectrum or a 30-digit reduction.  The midpoint rule errs by O(n⁻²) "
        "for a smooth W: measured 1.3e-7 (r∞ on W = xy, 1024 points) and 2e-8 (μ_max); the plausible slips (the "
        "complete graph's law at μ_max K, μ_max replaced by max W) are off by ≥ 20 %.",
    ),
    Tolerance(
        "locking_bracket",
        0.02,
        "Relative distance ε from a claimed full-locking threshold K_L at which N = 20 oscillators "
        "must lock above and slip below.  Just below K_L the slip period grows like "
        "ε^{-1/2} (saddle-node ghost): ≈ 10²  time units at ε = 0.02, well inside the 500 observed; "
        "K_L of the naive bound max|ω| is ≥ 15 % low.",
    ),
    Tolerance(
        "width_exponent",
        0.15,
        "Allowed excess of a fitted width exponent (log of the replicate mean against log width) over "
        "the claimed one.  32 replicates give each mean to ±15 % at the measured spread (relative "
        "std ≤ 0.8), which moves the slope over a 64-fold range of widths by ≲ 0.05 (the bootstrap "
        "standard error is reported); pre-asymptotic corrections of relative order width^{-1/2} "
        "add ≲ 0.05 at width ≥ 1024.  0.15 keeps both, while an exponent off by 1/2 (the mean-field "
        "parameterisation against the NTK one) cannot pass.",
    ),
    Tolerance(
        "kernel_recursion_relative",
        1e-10,
        "The NTK recursion on the diagonal (closed-form layer maps in generated double-precision code, "
        "~1e-15 a layer) against a formula in q* and χ₁ from the mean-field solver (q* to ~1e-14).  "
        "Rounding adds up at most linearly over the ≤ 31 layers compared, and the formula's "
        "1/(1 − χ₁) amplifies it by ≤ 50 at the edge margin |1 − χ₁| ≥ 0.02: ≲ 2e-12 in all.  "
        "Measured: 9.3e-15 over 44 erf points.  1e-10 keeps a factor 50 over the bound while an O(1) "
        "error (a lost geometric sum) "
        "cannot pass.",
    ),
    # -- the numerics' own working accuracies: stopping rules of solvers and tables --------------
    Tolerance(
        "ode_relative",
        1e-10,
        "Relative and absolute tolerance of the adaptive DOP853 integrator (numerics.solvers.adaptive). "
        "A smooth trajectory's error stays ~1e-9 over O(10³) time units (the error grows at most "
        "linearly for the phase dynamics integrated here): six orders below the Monte Carlo errors "
        "(≥ 1e-3) of the finite-population checks, and six below the O(h) ≥ 1e-4 discretisation errors "
        "whose order the convergence checks measure.",
    ),
    Tolerance(
        "locking_ode_relative",
        1e-9,
        "DOP853's tolerance for the locking check, which asks only whether some phase slips by 2π "
        "within 1000 time units (a slip shows as an excursion ≥ 2π, a locked state stays < π): a "
        "phase error ≲ 1e-6 is six orders inside that margin; measured 1.0 s against 1.5 s at "
        "1e-10 for 20 oscillators, with the same excursion to 2e-4 relative.",
    ),
    Tolerance(
        "newton_step_relative",
        4 * 2.0**-52,
        "A vectorized Newton iteration (numerics.solvers.bracketed_newton) has converged when its "
        "step is 4 ulp of the iterate: quadratic convergence takes it from 1e-8 to rounding in one "
        "step, and a step cannot be resolved below a few ulp.",
    ),
    Tolerance(
        "newton_residual_relative",
        8 * 2.0**-52,
        "|f(x)| ≤ 8 ulp of |x| is rounding noise, a converged root, for an f on the scale of x (the "
        "fixed-point residual q-map(q) − q is a difference of two numbers of size q, each ~2 ulp).",
    ),
    Tolerance(
        "kuramoto_critical_slope",
        8 * 2.0**-52,
        "The self-consistency's slope at r = 0, K·πg(0)/2 (quadrature, ~2 ulp), within 8 ulp of 1 is K = K_c to "
        "rounding: r∞ is 0 there (r∞ ∝ √(K − K_c) would read ~1e-8 from rounding alone).",
    ),
    Tolerance(
        "critical_chi_1",
        1e-11,
        "|χ₁ − 1| below which a point is called critical: χ₁ in double precision is accurate to "
        "≤ 1e-12 relative (the generated quadrature's ~1e-15 times the fixed point's conditioning), "
        "with a factor 10 of margin.",
    ),
    Tolerance(
        "chebyshev_cell_tail",
        1e-14,
        "Accuracy target of a one-parameter Chebyshev table (numerics.chebyshev): the neglected "
        "coefficients of a cell, relative to its scale.  The tabulated evaluators are accurate to "
        "~1e-15 (numerics.gaussian); 1e-14 keeps the table's own error within a decade of theirs, so "
        "the 1e-13 it is held to keeps a decade of margin.",
    ),
    Tolerance(
        "chebyshev_cell_tail_2d",
        1e-13,
        "Accuracy target of the two-parameter tables (kernels K(q, c)), on the scale of the kernel's "
        "diagonal (|K(q, c)| ≤ K(q, 1), Cauchy–Schwarz): a decade looser than the one-parameter "
        "tables, as a cell's error now adds over two directions; measured ≤ 5e-14 for tanh.",
    ),
    Tolerance(
        "chebyshev_cache_check",
        100,
        "A Chebyshev table read back from the disk cache is used when its error against the evaluator "
        "at each cell's off-node points is at most this many times its accuracy target; tables built "
        "here measure 0.2–11 × (11 × for the erf kernel over four decades, held to its own |value| where "
        "it changes sign), while a wrong coefficient of one part in 1e9 reads ≳ 1e5 ×.",
    ),
    Tolerance(
        "chebyshev_noise_floor",
        8 * 2.0**-52,
        "The rounding noise of tabulated values relative to a slice's largest |value|: 8 ulp, against "
        "the ≲ 2 ulp (4e-16) measured for the generated quadrature; a cell whose tail is below it is "
        "converged, whatever the target.",
    ),
    Tolerance(
        "equal_diagonal_relative",
        1e-14,
        "Largest relative spread of the diagonal K^l(x, x) over the inputs for which one variance q "
        "serves them all in the kernel recursion: a few ulp of the inner products |x|²/d, summed over "
        "≤ 10⁴ coordinates.",
    ),
    Tolerance(
        "stability_bracket_relative",
        1e-3,
        "Relative distance ε from a claimed step threshold x* at which an optimizer on a quadratic must "
        "converge (x*(1 − ε)) and diverge (x*(1 + ε)), and the slack around a measured divergence "
        "bracket.  Within δ of x* the spectral radius is 1 ± cδ with c x* ≥ 2 for the maps checked, so "
        "4000 steps decide at δ ≥ ln(10)/(2·4000) ≈ 3e-4 despite a transient growth ≤ 10 (measured "
        "offsets ≤ 2e-4 over β ∈ {0, 0.5, 0.9}); a threshold off by a factor (2 for 2 + 2β, 1/λ for "
        "1/(2λ)) is ≥ 25 % away.",
    ),
    Tolerance(
        "edge_of_stability_band",
        0.05,
        "Largest relative gap between the mean late-time sharpness of full-batch GD (second half of the "
        "run) and the level c/η it is claimed to hover at.  At the edge the sharpness oscillates about "
        "2/η by ≲ ±12 % (measured 9.65–11.13 at 2/η = 10 and 5.02–5.19 at 2/η = 5, random-label tanh "
        "networks); the mean of the second half's samples sits within 2 % of 2/η (measured 10.07 and 5.06; "
        "10.05 by the dense Hessian along torch's run); 5 % keeps a factor 2, while 1/η is 50 % away.",
    ),
    Tolerance(
        "leading_order_slope",
        0.25,
        "How far below 1 the fitted slope of log(gap) against log(ε) may fall for a reduced dynamics "
        "claimed to be GD's leading order on the scale ε, the gap being the largest relative difference "
        "of the two trajectories over a fixed stretch of the reduced dynamics' own time.  Leading order "
        "means the gap vanishes at least like ε: measured 0.98 (the sharpness excess) and 1.12 (the "
        "displacement) for the self-stabilisation map on the pulled linear network, ε = 0.04, 0.02, 0.01; "
        "the next order bends a three-point fit by O(ε), and 0.25 leaves a factor 4 to that, while a "
        "map with a wrong coefficient keeps an O(1) gap (slope −0.02 measured for the prefactor 1).",
    ),
    Tolerance(
        "cycle_average_relative",
        0.05,
        "Relative gap between the average of x² over whole cycles of self-stabilisation (between the "
        "first and last upward crossings of y = 0) and a claimed cycle average.  Two errors: the ends of "
        "the stretch sit at y ≈ 0 but not exactly, O(1/steps) (measured 2e-4 for the map itself over "
        "~7 cycles), and GD's corrections to the map, O(ε) (measured 0.46 %, 0.30 %, 0.11 % at ε = 0.04, "
        "0.02, 0.01); 5 % keeps a factor 10, while α/β for 2α/β is 50 % away.",
    ),
    Tolerance(
        "weak_order",
        0.1,
        "Largest gap between a weak order read off halving the step, log₂(e(η)/e(η/2)) with exact "
        "moments at 30 digits, and a claimed order.  The next term of the error moves the ratio by "
        "O(η): measured 0.971 and 1.006 (SME-1, second and first moments) and 2.016 and 2.004 (SME-2) "
        "from η = 0.02 to 0.01 on the test model (a = 1, σ_m² = 1, σ_a² = ½, x₀ = 1, T = 1); 0.1 keeps a "
        "factor 3, while the strong order ½ and an uncorrected SME claimed second order are ≥ 0.5 away.  "
        "With Monte Carlo errors the gap allowed grows by monte_carlo_z standard errors of the order.",
    ),
    Tolerance(
        "schedule_relative",
        1e-3,
        "How much worse (relative m(T)) a schedule claimed optimal for the SME of a quadratic may end than "
        "the best piecewise-constant schedule of 40 pieces found by L-BFGS-B.  That brute force ends "
        "above the continuous optimum by O(1/K²): measured 1.9e-3, 4.7e-4 and 1.2e-4 at K = 20, 40, 80 "
        "(a = 1, ηΣ = 0.1, x₀ = 1, T = 10), so the true optimum beats it; 1e-3 allows the integration "
        "and the optimiser their error, while the constant rate and 1/(1 + at) end 376 % and 57 % worse.",
    ),
    Tolerance(
        "schedule_sgd_relative",
        0.01,
        "How much larger E x_T² may SGD (η = 0.1, 5·10⁴ runs, the same noise for every schedule) end under a "
        "schedule claimed optimal than under any rival (the best piecewise-constant schedule, the constant "
        "rate, 1/(1 + at), 1/√(1 + t)), beyond monte_carlo_z standard errors of the paired difference.  "
        "SGD is the SME only to O(η): under the optimal schedule its E x_T² is 0.6 % below the SME's m(T) "
        "(measured), so an SME-optimal schedule may trail an SGD-better one by that order; 1 % covers it.  "
        "Measured: 0.024 % above the best piecewise schedule; the rivals end ≥ 45 % higher.",
    ),
    Tolerance(
        "gd_limit_relative",
        1e-10,
        "Relative distance between where float64 GD ends on a small least-squares problem and a claimed "
        "exact limit.  With η = 1/λ_max the error contracts by 1 − λ_min⁺/λ_max = 0.72 a step on the "
        "claim's data, so 2000 steps leave nothing of it, and rounding over them adds ≲ 2000 × 1e-16; "
        "1e-10 keeps three decades of margin while a limit that forgets w₀ (an O(1) error) cannot pass.",
    ),
    Tolerance(
        "flow_relative",
        1e-6,
        "Largest relative gap between a gradient flow integrated by DOP853 (at the ode_relative "
        "tolerance, 1e-10 a step) and a claimed closed-form trajectory.  The global error of the "
        "integration grows with the trajectory's sensitivity: measured 1.8e-8 for the modes of a "
        "two-layer linear network over t ≤ 6τ, while their strengths grow 3000-fold; 1e-6 keeps a factor "
        "50, and a rate off by a factor 2 is O(1) away.",
    ),
    Tolerance(
        "log_rate_ratio",
        0.1,
        "Relative gap allowed between the measured ratio of the angles to a claimed limit direction at "
        "two times, θ(t₂)/θ(t₁), and log t₁/log t₂, the 1/log t law of Soudry et al. (2018).  The law's "
        "next term is relative O(1/log t): at log t = 40 and 80 it moves the ratio by ≲ 1 % (measured "
        "0.503 against 0.5), for explicit GD (η = 0.5) from t = e^10 to e^12 by 2.2 % (e^6 to e^8: 7.4 %, "
        "hence the later times); 10 % keeps a factor 4, while a wrong limit direction leaves the angle at "
        "a constant (ratio ≈ 1) and a 1/t rate predicts e^{-2}.",
    ),
    Tolerance(
        "affine_reconstruction",
        1e-13,
        "Relative error allowed between A*(x)x + b*(x) and f(x) in double precision, in units of "
        "|A*||x| + |b*| + |f|: composing L ≤ 4 layers of width n ≤ 8 rounds each entry ~n·L·u ≈ 7e-15 "
        "(u = 1.1e-16) and the slope quotient is exact to a few u (its Taylor pieces remove the "
        "cancellation near 0); 1e-13 keeps a factor 15, while a wrong slope (σ′ for Λ) misses by O(0.1).",
    ),
    Tolerance(
        "spectrum_promise",
        1e-9,
        "How far (in the units of the bounds, ~1) an eigenvalue or singular value may stray from a "
        "parameterisation's promise: the matrices are built to rounding (Householder products are "
        "orthogonal to ~n·u) and LAPACK's eigenvalues of a non-normal n ≤ 13 matrix carry its condition "
        "number (≲ 1e4 here) times u, ~1e-12; 1e-9 keeps a factor 1000, while a broken variant strays by "
        "O(0.1–1).",
    ),
    Tolerance(
        "eigenvalue_relative",
        1e-10,
        "Relative excess allowed of a computed spectral radius over a bound on it: LAPACK's eigenvalues of "
        "a ≤ 4 × 4 matrix are exact to its condition number (≲ 1e3 for these) times u ≈ 1e-13; 1e-10 "
        "keeps a factor 1000, while the spectral-radius product in place of norms is exceeded ~100-fold.",
    ),
    Tolerance(
        "fixed_point_relative",
        1e-9,
        "|f(x*) − x*|/(1 + |x*|) allowed of a fixed point, and the spread allowed of orbits that meet in "
        "one: x* solves a 2 × 2 system in double precision (error ≲ cond · u ≈ 1e-13 for these maps) and a "
        "contraction by 0.95 for 400 steps leaves 0.95^400·3e3 ≈ 4e-6·… below 1e-12 once it starts within "
        "reach; 1e-9 keeps a factor 1000 over both, while a virtual fixed point or a second attractor is "
        "off by O(0.1–1).",
    ),
    Tolerance(
        "closed_form_check_relative",
        1e-9,
        "A derived closed form is used in double precision only if its generated code agrees with the "
        "generated quadrature to this, relative, at three parameter points: both are exact to ~1e-13 "
        "(double_quadrature_relative and rounding in the closed form's special functions), so 1e-9 keeps "
        "four decades, while a wrong branch or a lost factor is off by O(1).",
    ),
    Tolerance(
        "monotone_loss_relative",
        1e-12,
        "A training loss counts as increased when it grows by more than this, relative: the "
        "loss is a sum of ≤ 10³ squares evaluated to ~1e-15, so smaller changes are rounding.",
    ),
    Tolerance(
        "global_minimum_loss",
        1e-4,
        "Loss (½ mean squared error; the teacher's targets have mean square 0.6) below which a trained ReLU network "
        "counts as at the global minimum 0 of a realisable teacher: from a spread initialisation 1500 full-batch "
        "steps reach 3e-6 at widths 64 and 256 (8e-7 after 4000; still falling); a network that keeps a > 0 cannot go below "
        "the positive cone's optimum, 0.2396.",
    ),
    Tolerance(
        "mean_field_control_relative",
        1e-5,
        "Relative gap (to max|θ*|) allowed between the mean-field LQ control computed on 400 pieces and a claimed "
        "θ*(t) at the pieces' midpoints: the piecewise-constant optimum is the midpoint value to O(h²), measured "
        "1.8e-7 at h = 1/400 by least squares and by successive approximations alike (they agree to 2e-13); the "
        "control that forgets its own effect on x_T (no G) is off by G/λ ≈ 6.",
    ),
    Tolerance(
        "flow_derivative_relative",
        1e-6,
        "Relative difference allowed between e^Λ (RK4 on (y, Λ), 400 steps: relative error ≲ 1e-8 even where "
        "the map steepens 50-fold) and fourth-order central differences of the flow, beyond their own "
        "truncation (Richardson's estimate from h = 1e-3 and 5e-4, allowed twice) and rounding (the "
        "floor below); 1e-6 keeps a factor 100 over RK4, while 1 + Λ for e^Λ is off by Λ²/2 ~ 1e-2 or more.",
    ),
    Tolerance(
        "flow_derivative_floor",
        1e-10,
        "Absolute difference, in units of 1 + |φ_T(x)|, below which e^Λ and the differences of the flow "
        "agree whatever their ratio: the stencil's rounding is ≈ 1.5 ε |φ_T| / h ≈ 3e-13 (1 + |φ_T|) for "
        "h = 1e-3, which swamps a derivative as small as e^{−20} of a strongly contracting flow; 1e-10 "
        "keeps a factor 300.",
    ),
    Tolerance(
        "isotonic_grid_relative",
        1e-8,
        "Relative difference allowed between the L² distance to the monotone functions on a grid of 2^18 "
        "cells and its limit: the midpoint rule converges at O(h²) for continuous piecewise-smooth targets "
        "(measured: 1e-10 at 2^18 for x², |x|, x³ − x), so 1e-8 keeps a factor 100, while a claimed error "
        "of half the bound is off by 1/2.",
    ),
    Tolerance(
        "critical_gradient",
        1e-10,
        "‖∇f‖ at which a Newton iterate counts as a critical point: the gradient is computed to ~1e-15 "
        "(backpropagation) or ~1e-12 (RK4 variational equation), so 1e-10 is rounding; a certified lower "
        "bound on ‖∇f‖ that a computed gradient undercuts by more than this, relative, is wrong.",
    ),
    Tolerance(
        "degenerate_curvature_relative",
        1e-6,
        "|f″(x*)| / max|f″| below which a critical point counts as degenerate: f″ by central differences "
        "of the backpropagated f′ is exact to ~1e-9 of max|f″| and by autograd to ~1e-15; a degenerate "
        "point of a non-generic weight choice has f″ = 0 exactly.",
    ),
    Tolerance(
        "embedding_absolute",
        1e-12,
        "|z(T) − g(x)| allowed of the augmented embedding integrated by RK4: ż = g(x) is constant along "
        "the trajectory, so RK4 is exact up to the rounding of its 100 steps (~100 ε |g| ≲ 1e-13 for |g| ≤ 4).",
    ),
    Tolerance(
        "kuramoto_form_relative",
        1e-12,
        "Largest difference, relative to the largest velocity, allowed between the network's gradient flow "
        "(the uniform rule in x, exact for trigonometric features of degree < M, or autograd) and the "
        "Kuramoto velocity: both sum ≤ 10³ terms of size ≲ 3 in double precision (rounding ~1e-15, "
        "measured ≤ 1.4e-15); 1e-12 keeps a factor 1000, while the attractive sign is off by a relative O(1).",
    ),
    Tolerance(
        "steady_order_absolute",
        1e-4,
        "|r(t) − r∞| allowed at t = 30 of the gradient flow of 64 cosine features (RK4, step 0.05, error "
        "≲ 1e-7): the order converges exponentially, measured ≤ 6.8e-7 over c = 0.3, 0.7, 1.5 and three "
        "draws; 1e-4 keeps a factor 150, while collapse (r∞ = 1) is off by 0.3–0.7.",
    ),
    Tolerance(
        "threshold_bracket",
        1e-2,
        "Relative distance of the gains on either side of a claimed threshold aτ at which the threshold's "
        "two behaviours are checked: the first sign change at aτ = 1.01/e comes at t ≈ 20τ, within the "
        "60τ that the routes integrate, and a wrong threshold (1, π/2 for 1/e, or 1/e for π/2) is off by a "
        "factor 2.7–4.3.",
    ),
]

TOLERANCES = {t.name: t for t in _TABLE}


def tolerance(name: str) -> float:
    """The value of tolerance ``name``."""
    return TOLERANCES[name].value


def relative_difference(a, b) -> float:
    """|a − b| / max(|a|, |b|), and 0 when both vanish (real, complex or mpmath numbers)."""
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else float(abs(a - b) / scale)
