"""A disk cache of symbolic derivations, so that a second run skips the work and its time limits.

Deriving a Gaussian expectation can take seconds, and proving that none of the
engine's strategies applies takes as long as the strategies' time limits
(:func:`theory.gaussian.expect`: tanh's two layer maps spend 2 × 10 s in
``sympy.integrate``).  The outcome depends only on the integrand, the time
limit, SymPy and dyncheck's own derivation code, so :func:`cached` keys each
result by those: a change to any ``theory`` module or to SymPy's version starts
afresh.

The cache lives in ``$DYNCHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/dyncheck``,
else ``~/.cache/dyncheck``; ``DYNCHECK_CACHE_DIR=off`` turns it off.  A file
that cannot be read or written is ignored: the cache only ever saves time.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import sympy as sp

__all__ = ["CACHE_ENV", "cache_directory", "cached"]

#: Environment variable naming the cache directory ("off" or "" disables the cache).
CACHE_ENV = "DYNCHECK_CACHE_DIR"

T = TypeVar("T")


def cache_directory() -> Path | None:
    """Where derivations are kept, or None when the cache is off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dyncheck"


@functools.cache
def _fingerprint() -> str:
    """SymPy's version and the source of every ``theory`` module: what a derivation's outcome depends on."""
    digest = hashlib.sha256(sp.__version__.encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()


def cached(namespace: str, key: tuple[str, ...], compute: Callable[[], T]) -> T:
    """``compute()``, or its stored result for ``key`` (strings, e.g. ``sympy.srepr`` of the inputs)."""
    directory = cache_directory()
    if directory is None:
        return compute()
    digest = hashlib.sha256("\0".join((_fingerprint(), *key)).encode()).hexdigest()
    path = directory / namespace / f"{digest}.pickle"
    try:
        with path.open("rb") as stored:
            return pickle.load(stored)
    except Exception:  # noqa: BLE001 - missing, truncated or from an incompatible Python: derive afresh
        pass
    result = compute()
    partial = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False) as partial:
            pickle.dump(result, partial)
        os.replace(partial.name, path)  # atomic: concurrent workers never read half a file
    except (OSError, pickle.PicklingError):
        if partial is not None:
            Path(partial.name).unlink(missing_ok=True)
    return result
