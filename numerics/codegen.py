"""SymPy expressions → numeric callables, through one table of backends.

A formula is written once, in :mod:`theory`; everything numeric is generated
from it here with :func:`sympy.lambdify`.  The backend table maps the few
functions whose default printing is wrong or missing for a backend (the
Heaviside step's value at 0, ``erf`` in mpmath) to an implementation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence

import mpmath
import numpy as np
import scipy.special
import sympy as sp
from sympy.codegen.numpy_nodes import logaddexp
from sympy.core.function import AppliedUndef
from sympy.codegen.rewriting import optimize, optims_numpy

__all__ = [
    "BACKENDS",
    "generate",
    "stable_form",
    "torch_form",
]


def _np_heaviside(x, h0=0.5):
    return np.heaviside(x, h0)


def _mp_heaviside(x, h0=mpmath.mpf("0.5")):
    return mpmath.mpf(1) if x > 0 else (mpmath.mpf(0) if x < 0 else h0)


def _no_delta(*args):
    raise ValueError("a Dirac delta has no pointwise value; derive the expectation symbolically")


#: backend name -> modules passed to lambdify (first match wins).
BACKENDS: dict[str, list] = {
    "numpy": [
        {"Heaviside": _np_heaviside, "DiracDelta": _no_delta, "erf": scipy.special.erf, "erfc": scipy.special.erfc},
        "scipy",
        "numpy",
    ],
    "mpmath": [
        {"Heaviside": _mp_heaviside, "DiracDelta": _no_delta, "erf": mpmath.erf, "erfc": mpmath.erfc},
        "mpmath",
    ],
}


def _softplus_form(expr: sp.Expr) -> sp.Expr:
    """log(1 + exp(a)) → logaddexp(0, a), which does not overflow."""

    def is_softplus(e):
        if not isinstance(e, sp.log) or not e.args[0].is_Add:
            return False
        terms = sp.Add.make_args(e.args[0])
        return len(terms) == 2 and sp.S.One in terms and any(isinstance(t, sp.exp) for t in terms)

    def rewrite(e):
        (exponential,) = [t for t in sp.Add.make_args(e.args[0]) if isinstance(t, sp.exp)]
        return logaddexp(sp.S.Zero, exponential.args[0])

    return expr.replace(is_softplus, rewrite)


def _split_at_steps(expr: sp.Expr) -> sp.Expr:
    """``expr`` as one ``Piecewise`` over the signs of its steps' arguments, each branch step-free.

    Each step H(a) is set to 0, H(0) and 1 on a < 0, a = 0 and a > 0, which
    collapses the powers and products of steps that derivatives of |x| and
    kinks produce; k distinct steps give at most 3^k branches (SymPy's
    ``piecewise_fold`` of the same expression can take minutes).
    """
    steps = sorted(expr.atoms(sp.Heaviside), key=sp.default_sort_key)
    if not steps:
        return expr
    step = steps[0]
    argument = step.args[0]
    at_zero = step.func(sp.S.Zero, *step.args[1:])
    return sp.Piecewise(
        (_split_at_steps(expr.xreplace({step: sp.S.Zero})), argument < 0),
        (_split_at_steps(expr.xreplace({step: at_zero})), sp.Eq(argument, 0)),
        (_split_at_steps(expr.xreplace({step: sp.S.One})), True),
    )


def stable_form(expr: sp.Expr) -> sp.Expr:
    """The same function, written for floating point.

    Steps become one ``Piecewise`` (so that ``H(x)·x + (1 − H(x))·(eˣ − 1)``
    never forms ``0·inf``), softplus becomes ``logaddexp``, and SymPy's numpy
    rewrites (expm1, log1p, …) apply.
    """
    if expr.has(sp.Heaviside):
        expr = _split_at_steps(expr)
    expr = _softplus_form(expr)
    if not _numpy_optims_apply(expr):  # the rewrites match nothing: spare their tree walks (~10 ms a formula)
        return expr
    return optimize(expr, optims_numpy)


def _numpy_optims_apply(expr: sp.Expr) -> bool:
    """Whether ``expr`` has what SymPy's numpy rewrites act on: exp and log (expm1, log1p, logaddexp, log2),
    powers of 2 (exp2) and sin (sinc)."""
    return expr.has(sp.exp, sp.log, sp.sin) or any(p.base == 2 for p in expr.atoms(sp.Pow))


def _vectorized(f: Callable, piecewise: bool) -> Callable:
    """``f`` returning the broadcast shape of its arguments (each part of a tuple), overflow and underflow silenced.

    numpy.select (Piecewise) needs its branches in one shape, so a piecewise ``f``
    gets its arguments broadcast first (views, no copies).  Any other ``f`` gets them
    as they are, so that a sub-expression of a column (q₁) or a row (q₂) alone is
    evaluated once a row or column, not once an entry; a result that depends on only
    some arguments is expanded afterwards.  All branches are evaluated, so an
    overflow in a branch that is not selected is harmless; invalid values still warn.
    """

    @functools.wraps(f)
    def wrapped(*args):
        arrays = [a for a in args if not callable(a)]  # implementations passed as arguments stay as they are
        with np.errstate(over="ignore", under="ignore"):
            if len(arrays) < 2:
                return f(*args)
            if piecewise:
                broadcast = iter(np.broadcast_arrays(*arrays))
                return f(*(a if callable(a) else next(broadcast) for a in args))
            args = [a if callable(a) else np.asarray(a) for a in args]
            result = f(*args)
        shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))

        def expanded(value):
            return np.broadcast_to(value, shape).copy() if np.ndim(value) and np.shape(value) != shape else value

        return tuple(expanded(v) for v in result) if isinstance(result, tuple) else expanded(result)

    return wrapped


_TorchStep = sp.Function("torch_step")
_TorchLogAddExp = sp.Function("torch_logaddexp")


def _torch_modules() -> list:
    import torch

    def step(t, h0=0.5):
        # a step with zero derivative (torch.heaviside has no autograd formula): x·H(x) then
        # differentiates to H(x), as the Dirac delta's weight x vanishes where it sits
        one, zero = torch.ones((), dtype=t.dtype, device=t.device), torch.zeros((), dtype=t.dtype, device=t.device)
        return torch.where(t > 0, one, torch.where(t < 0, zero, torch.full((), h0, dtype=t.dtype, device=t.device)))

    def _as_tensors(*xs):
        like = next(x for x in xs if isinstance(x, torch.Tensor))
        return [x if isinstance(x, torch.Tensor) else torch.full((), float(x), dtype=like.dtype, device=like.device) for x in xs]

    def logaddexp_(x, y):
        return torch.logaddexp(*_as_tensors(x, y))

    return [{"torch_step": step, "torch_logaddexp": logaddexp_, "DiracDelta": _no_delta}, "torch"]


def torch_form(expr: sp.Expr) -> sp.Expr:
    """``expr`` as the torch printer needs it: numeric constants as floats (the printer
    would call ``torch.sqrt(2)`` on a Python int), steps and softplus as named functions."""
    expr = _softplus_form(expr).replace(logaddexp, lambda a, b: _TorchLogAddExp(a, b))
    expr = expr.replace(sp.Heaviside, lambda *a: _TorchStep(*a))
    constants = expr.atoms(sp.Pow, sp.Rational, sp.NumberSymbol)
    return expr.xreplace({c: c.evalf(17) for c in constants if c.is_number and not c.is_Integer})


def generate(
    expr: sp.Expr, args: Sequence[sp.Symbol], backend: str = "numpy", implementations: Mapping[str, Callable] | None = None
) -> Callable:
    """A function of ``args`` that evaluates ``expr`` with ``backend`` (numpy, mpmath or torch).

    A ``sympy.Tuple`` of expressions gives a function that returns a tuple, its common sub-expressions
    computed once (φ and φ′ of tanh share tanh(x)).

    ``implementations`` binds each undefined function of ``expr`` (``sympy.Function(name)``
    applied to arguments, e.g. an expectation of :data:`dyncheck.theory.meanfield.EXPECTATIONS`)
    to a callable of the same arguments on the backend's arrays: a formula written once in
    :mod:`dyncheck.theory` is compiled with its expectations bound to generated closed forms,
    quadrature or tables.  An undefined function may instead be one of ``args``: the generated
    function then takes its implementation at each call.  An unbound undefined function is an error.
    The torch function takes and returns tensors on any device and dtype.  Backend ``operators``
    compiles a formula (or a ``Tuple`` of formulas) of arithmetic operators alone (+, ×, integer
    powers) to plain Python operators, which act on numpy arrays and torch tensors alike.
    """
    implementations = dict(implementations or {})
    if backend == "operators":
        arithmetic = (sp.Add, sp.Mul, sp.Symbol, sp.Number)
        parts = expr if isinstance(expr, sp.Tuple) else (expr,)
        if not all(isinstance(e, arithmetic) or (isinstance(e, sp.Pow) and e.exp.is_Integer) for part in parts for e in sp.preorder_traversal(part)):
            raise ValueError(f"backend 'operators' compiles arithmetic alone, not {expr}")
        return sp.lambdify(tuple(args), expr, modules=[{}])
    passed = {a.__name__ for a in args if isinstance(a, type) and issubclass(a, sp.Function)}  # functions given at each call
    unbound = sorted({f.func.__name__ for f in expr.atoms(AppliedUndef)} - set(implementations) - passed)
    if unbound:
        raise ValueError(f"no implementation of {', '.join(unbound)} to compile {expr}")
    if backend == "torch":
        from sympy.printing.pytorch import TorchPrinter

        modules = [implementations, *_torch_modules()]
        return sp.lambdify(tuple(args), torch_form(expr), modules=modules, printer=TorchPrinter({"strict": False}))
    try:
        modules = [implementations, *BACKENDS[backend]]
    except KeyError:
        raise ValueError(f"unknown backend {backend!r}; known: {', '.join([*BACKENDS, 'torch'])}") from None
    if backend == "numpy":
        form = sp.Tuple(*map(stable_form, expr)) if isinstance(expr, sp.Tuple) else stable_form(expr)
        return _vectorized(sp.lambdify(tuple(args), form, modules=modules, cse=True), form.has(sp.Piecewise))
    return sp.lambdify(tuple(args), expr, modules=modules)
