"""The one kind of error that is the user's: bad input.

It lives here, in the lowest layer, because theory and numerics validate the
parameters they are given and must say so in the same terms as the CLI.

Everything dyncheck rejects because of what the user typed or asked for (an
expression, an option out of range, an output path that cannot be written, a
size that would not fit in memory) raises :class:`UsageError`.  The command
line turns it into one line and exit status 2; any other exception is a bug
and is shown with its traceback.
"""

from __future__ import annotations

__all__ = ["UsageError", "check_evaluable"]


class UsageError(ValueError):
    """Bad input; the message, one line, says what is wrong and what is allowed."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def check_evaluable(expr, what: str) -> None:
    """Refuse a user's expression that has no value to compute: an undefined one (zoo, nan, ±oo — a division by
    zero, say) or one holding an unevaluated expectation E(…), which a target, field or graphon may not."""
    import sympy as sp

    from dyncheck.theory.gaussian import GaussianExpectation

    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise UsageError(f"the {what} {expr} is undefined (a division by zero or an infinite value)")
    if expr.atoms(GaussianExpectation):
        raise UsageError(f"the {what} may not contain an expectation E(…)")
