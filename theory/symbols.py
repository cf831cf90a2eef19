r"""The symbols of dyncheck, each declared once with one set of assumptions.

Every topic imports its symbols from here, so the same letter is the same SymPy
symbol everywhere: the erf q-map of :mod:`dyncheck.theory.meanfield` minus the one
inside :mod:`dyncheck.theory.kernels` simplifies to 0.  SymPy compares symbols by
name *and* assumptions, so a second declaration of ``q`` with other assumptions
would be a different variable that prints the same.

Gaussian integration variables
    z ~ N(0, 1); (u, v) jointly Gaussian with unit variances and correlation ρ ∈ [−1, 1].
Activations
    x, the argument of φ.
Mean-field theory of deep networks (Poole et al. 2016; Schoenholz et al. 2017)
    q > 0 (pre-activation variance), c ∈ [−1, 1] (correlation), σ_w² > 0, σ_b² ≥ 0,
    L ≥ 0 (depth: the number of nonlinearities), q₁, q₂ > 0 (two inputs' variances),
    q* > 0 and χ₁ > 0 (the fixed point and its slope, as parameters of the NTK diagonal).
Dynamics
    t > 0 (time), η > 0 (step size).
Gradient descent as a dynamical system (Cohen et al. 2021)
    λ > 0 (a curvature: an eigenvalue of the Hessian), β ∈ [0, 1) (momentum), μ (a root of a
    linearised update's characteristic polynomial), x = ηλ > 0 (the step in units of the curvature);
    for deep linear networks (Saxe, McClelland & Ganguli 2014) τ > 0 (the time constant 1/learning rate),
    s > 0 (a singular value of the input–output correlation) and u₀ > 0 (a mode's initial strength).
Training as optimal control (Li, Chen, Tai & E 2018)
    the pieces of the augmented Hamiltonian: H real (the Hamiltonian's value), e_x, e_p ≥ 0
    (the squared state and costate gaps) and ρ_MSA ≥ 0 (the penalty).
Kuramoto oscillators (Kuramoto 1975; Strogatz 2000; Ott & Antonsen 2008)
    K > 0 (coupling), γ, σ, Δ > 0 (width parameters of the frequency densities),
    r, r₀ > 0 (order parameter and its initial value), ω, θ, ψ real (frequency,
    phase, mean phase), p ∈ (0, 1) (a quantile's level), K r > 0 (of a locked state).  The Ott–Antonsen algebra is a Laurent calculus in
    w = e^{iθ} with amplitudes a, ā and order parameters Z, Z̄ treated as
    independent complex symbols.
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "ADDITIVE_NOISE",
    "BATCH_SIZE",
    "C",
    "CHI_1",
    "COSTATE_GAP",
    "CURVATURE",
    "DELAY",
    "DELAY_GAIN",
    "DELTA",
    "DELTA_ANGLE",
    "DEPTH",
    "DISPLACEMENT",
    "DIVERGENCE_INTEGRAL",
    "GAMMA",
    "HAMILTONIAN",
    "HISTORY_TIME",
    "HORIZON",
    "INITIAL_STRENGTH",
    "K",
    "KR",
    "LEARNING_RATE_SCALE",
    "LEVEL",
    "MEAN_LOCKED_COSINE",
    "MOMENTUM",
    "MSA_PENALTY",
    "MULTIPLICATIVE_NOISE",
    "MULTIPLIER",
    "NON_UNIFORMITY",
    "OA_A",
    "OA_A_BAR",
    "OA_W",
    "OA_Z",
    "OA_Z_BAR",
    "OMEGA",
    "PSI",
    "Q",
    "Q1",
    "Q2",
    "Q_STAR",
    "R",
    "R0",
    "RHO",
    "SAMPLE_COUNT",
    "SCALED_STEP",
    "SCHEDULE",
    "SECOND_MOMENT",
    "SHARPENING_RATE",
    "SHARPNESS",
    "SHARPNESS_EXCESS",
    "SIGMA",
    "SIGMA_B2",
    "SIGMA_W2",
    "SINGULAR_VALUE",
    "STABILISATION_STRENGTH",
    "START",
    "STATE",
    "STATE_GAP",
    "STEP_SIZE",
    "SWITCHING_TIME",
    "TEACHER_ANGLE",
    "TEACHER_SCALE",
    "THETA",
    "TIME",
    "TIME_CONSTANT",
    "U",
    "V",
    "X",
    "Z",
]

# Gaussian integration variables and the activation's argument.
Z = sp.Symbol("z", real=True)
U, V = sp.symbols("u v", real=True)
RHO = sp.Symbol("rho", real=True)
X = sp.Symbol("x", real=True)

# Mean-field theory and infinite-width kernels.
Q = sp.Symbol("q", positive=True)
C = sp.Symbol("c", real=True)
SIGMA_W2 = sp.Symbol("sigma_w2", positive=True)
SIGMA_B2 = sp.Symbol("sigma_b2", nonnegative=True)
DEPTH = sp.Symbol("L", integer=True, nonnegative=True)
Q1, Q2 = sp.symbols("q_1 q_2", positive=True)
Q_STAR, CHI_1 = sp.symbols("q_star chi_1", positive=True)

# Dynamics.
TIME = sp.Symbol("t", positive=True)
STEP_SIZE = sp.Symbol("eta", positive=True)

# Gradient descent as a dynamical system.
CURVATURE = sp.Symbol("lambda", positive=True)
MOMENTUM = sp.Symbol("beta", nonnegative=True)
MULTIPLIER = sp.Symbol("mu")
SCALED_STEP = sp.Symbol("x_eta", positive=True)
TIME_CONSTANT = sp.Symbol("tau", positive=True)
SINGULAR_VALUE = sp.Symbol("s", positive=True)
INITIAL_STRENGTH = sp.Symbol("u_0", positive=True)
#: Self-stabilisation (Damian, Nichani & Lee 2023): the displacement x along the top Hessian eigenvector u,
#: the sharpness excess y = ∇S·(θ − θ*), the progressive-sharpening rate α = −∇L·∇S and the
#: self-stabilisation strength β = ‖∇S‖².
DISPLACEMENT, SHARPNESS_EXCESS = sp.symbols("x_u y_S", real=True)
SHARPENING_RATE = sp.Symbol("alpha", positive=True)
STABILISATION_STRENGTH = sp.Symbol("beta_S", positive=True)

# SGD near an interpolation minimum (Wu, Ma & E 2018; Chemnitz & Engel 2025): the number of samples n,
# the batch size B (drawn without replacement), the sharpness a = λ_max(H̄) and the non-uniformity
# s = λ_max(Σ)^{1/2} of the per-sample curvatures (printed a_H and s_H).
SAMPLE_COUNT = sp.Symbol("n", integer=True, positive=True)
BATCH_SIZE = sp.Symbol("B", integer=True, positive=True)
SHARPNESS = sp.Symbol("a_H", nonnegative=True)
NON_UNIFORMITY = sp.Symbol("s_H", nonnegative=True)

# Stochastic modified equations (Li, Tai & E 2017): the variances of the multiplicative and the additive
# gradient noise of the test model ∇f_γ(x) = a(1 + γ)x + ζ, and the start x₀.
MULTIPLICATIVE_NOISE = sp.Symbol("sigma_m2", nonnegative=True)
ADDITIVE_NOISE = sp.Symbol("sigma_a2", nonnegative=True)
START = sp.Symbol("x_0", real=True)

# Optimal learning-rate schedules on the SME of a quadratic (Li, Tai & E 2017, 2019): the schedule ν(t) ∈ [0, 1]
# multiplying η, the second moment m = E x², the switching time t_s and the horizon T.
SCHEDULE = sp.Symbol("nu", nonnegative=True)
SECOND_MOMENT = sp.Symbol("m", positive=True)
SWITCHING_TIME = sp.Symbol("t_s", nonnegative=True)
HORIZON = sp.Symbol("T", positive=True)

# Training as optimal control.
HAMILTONIAN = sp.Symbol("H", real=True)
STATE_GAP, COSTATE_GAP = sp.symbols("e_x e_p", nonnegative=True)
MSA_PENALTY = sp.Symbol("rho_MSA", nonnegative=True)

# Kuramoto oscillators.
K = sp.Symbol("K", positive=True)
GAMMA, SIGMA, DELTA = sp.symbols("gamma sigma Delta", positive=True)
R, R0 = sp.symbols("r r_0", positive=True)
OMEGA, THETA, PSI = sp.symbols("omega theta psi", real=True)
#: A quantile's level p ∈ (0, 1); the product u = K r of a locked state; the mean of its locked cosines.
LEVEL = sp.Symbol("p", positive=True)
KR = sp.Symbol("Kr", positive=True)
MEAN_LOCKED_COSINE = sp.Symbol("S_Kr", positive=True)
#: The Ott–Antonsen Laurent variable w = e^{iθ}, amplitudes a, ā and order parameters Z, Z̄.
OA_W, OA_A, OA_A_BAR, OA_Z, OA_Z_BAR = sp.symbols("w a abar Z Zbar")

# Neural ODEs and delay equations.
#: Λ = ∫₀ᵀ f′(φ_t(x)) dt along a trajectory; the state y of a one-dimensional field; the time of a history on
#: [−τ, 0] (real: negative there; a user writes it t); the delay τ and the gain a of x′ = −a x(t − τ) (aτ the
#: memory capacity Kτ).
DIVERGENCE_INTEGRAL = sp.Symbol("Lambda", real=True)
STATE = sp.Symbol("y", real=True)
HISTORY_TIME = sp.Symbol("t_history", real=True)
DELAY = sp.Symbol("tau_d", positive=True)
DELAY_GAIN = sp.Symbol("a_d", positive=True)

# Mean-field limits of training (a feature's angle is THETA, the input on the circle U).
#: The teacher's angle θ* and scale c, an angle difference Δ, and the step-size profile ξ.
TEACHER_ANGLE = sp.Symbol("theta_star", real=True)
TEACHER_SCALE = sp.Symbol("c_teacher", positive=True)
DELTA_ANGLE = sp.Symbol("Delta_theta", real=True)
LEARNING_RATE_SCALE = sp.Symbol("xi", positive=True)
