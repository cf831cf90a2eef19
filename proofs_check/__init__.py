"""dyncheck.proofs_check — claims and their routes, verdicts, tolerances, the identity checker,
the safe expression parser, reports, hypothesis strategies and the ``dyncheck`` command line.
"""

__all__ = [
    "claim",
    "claims",
    "cli",
    "commands",
    "identity",
    "parser",
    "report",
    "runner",
    "strategies",
    "testing",
    "tolerances",
    "verdicts",
]
