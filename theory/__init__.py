"""dyncheck.theory — pure SymPy: the symbols, the Gaussian-expectation engine and each topic's
maps, flows, fixed-point equations and thresholds, each formula written once.

Import the modules themselves (``from dyncheck.theory.meanfield import mean_field``); importing
this package loads none of them.
"""

__all__ = [
    "activations",
    "affine",
    "cache",
    "control",
    "errors",
    "gaussian",
    "gradient_descent",
    "kernels",
    "kuramoto",
    "meanfield",
    "meanfield_training",
    "node",
    "serialize",
    "sgd",
    "symbols",
    "timelimit",
]
