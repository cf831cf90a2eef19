"""dyncheck.numerics — everything on arrays: theory's formulas compiled for numpy and torch,
quadrature and tables, finite networks and oscillator populations simulated.

Import the modules themselves (``from dyncheck.numerics.meanfield import mean_field_state``);
importing this package loads none of them (torch stays unloaded until a module needs it).
"""

__all__ = [
    "affine",
    "backend",
    "chebyshev",
    "codegen",
    "control",
    "figures",
    "gaussian",
    "gradient_descent",
    "kernels",
    "kuramoto",
    "meanfield",
    "meanfield_training",
    "networks",
    "node",
    "sgd",
    "solvers",
    "sweep",
    "threads",
    "training",
]
