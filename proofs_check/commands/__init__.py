"""The commands of ``dyncheck``, one thin module a topic; each registers its subcommands.

A command parses and checks its options, calls :mod:`dyncheck.numerics` and :mod:`dyncheck.theory`,
and prints; it computes no theory itself.  :mod:`.common` holds what they share (option types, the
vocabulary, deprecated spellings, exit statuses).
"""

__all__ = ["affine", "catalogue", "common", "control", "gaussian", "gradient_descent", "identities", "kernels", "kuramoto", "meanfield", "meanfield_training", "node", "sgd"]
