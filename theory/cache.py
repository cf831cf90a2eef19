"""A disk cache of symbolic derivations, so that a second run skips the work: data, never code.

Deriving a Gaussian expectation can take seconds.  The outcome depends only on
the integrand, the budget, SymPy and dyncheck's own derivation code, so
:func:`cached` keys each result by those: a change to any ``theory`` module or
to SymPy's version starts afresh.

Format and trust model:

* An entry is one JSON file ``<namespace>/<sha256 of the key>.json`` holding
  ``{"format", "key", "payload", "checksum"}``: the payload is what the
  caller's ``encode`` made of the result (expressions as whitelisted JSON
  trees, :mod:`theory.serialize`), and the checksum is the SHA-256 of the
  payload's canonical JSON.  Nothing read back is ever executed: there is no
  pickle and no ``eval``.
* An entry is read only if it is a regular file (not a FIFO, device or link)
  of at most :data:`MAX_ENTRY_BYTES`, its key and checksum match, it decodes,
  and the caller's ``trusted`` check accepts it (for closed forms: the value
  against quadrature at two parameter points).  Anything else is ignored and
  derived afresh.  The checksum catches damage, not malice: the ``trusted``
  check is what stops a well-formed entry that carries a wrong formula.
* Only definitive results are written (the caller's ``definitive``): a
  derivation that ran out of its budget is not "no closed form", and is derived
  again next time.

The cache lives in ``$DYNCHECK_CACHE_DIR``, else ``$XDG_CACHE_HOME/dyncheck``,
else ``~/.cache/dyncheck``; ``DYNCHECK_CACHE_DIR=off`` turns it off.  A file
that cannot be read or written is ignored: the cache only ever saves time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import sympy as sp

__all__ = ["CACHE_ENV", "FORMAT", "MAX_ENTRY_BYTES", "cache_directory", "cached"]

#: Environment variable naming the cache directory ("off" or "" disables the cache).
CACHE_ENV = "DYNCHECK_CACHE_DIR"
#: Version of the entry format; entries of another format are ignored.
FORMAT = 2
#: Largest entry read back.
MAX_ENTRY_BYTES = 4 << 20

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


def _checksum(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _read_regular(path: Path) -> bytes | None:
    """The bytes of ``path`` if it is a regular file of bounded size; None otherwise (never blocks)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES:
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            return stream.read(MAX_ENTRY_BYTES + 1)
    finally:
        os.close(descriptor)


#: Results this process has derived or checked, by (namespace, digest): each entry is read and
#: checked once a process, not once a call.  Bounded: the oldest are forgotten first.
_SEEN: dict[tuple[str, str], object] = {}
SEEN_LIMIT = 4096


def _remember(namespace: str, digest: str, result: T) -> T:
    if len(_SEEN) >= SEEN_LIMIT:
        del _SEEN[next(iter(_SEEN))]
    _SEEN[(namespace, digest)] = result
    return result


def cached(
    namespace: str,
    key: tuple[str, ...],
    compute: Callable[[], T],
    *,
    encode: Callable[[T], object],
    decode: Callable[[object], T],
    definitive: Callable[[T], bool] = lambda result: True,
    trusted: Callable[[T], bool] = lambda result: True,
) -> T:
    """``compute()``, or its stored result for ``key`` (strings, e.g. ``sympy.srepr`` of the inputs).

    ``encode`` turns a result into JSON-compatible data and ``decode`` reads it back
    (raising ``ValueError`` on anything it did not write); a stored result is used only
    if ``trusted`` accepts it, and a result is stored only if it is ``definitive``.
    """
    directory = cache_directory()
    if directory is None:
        return compute()
    full_key = [_fingerprint(), *key]
    digest = hashlib.sha256("\0".join(full_key).encode()).hexdigest()
    if (namespace, digest) in _SEEN:
        return _SEEN[(namespace, digest)]
    path = directory / namespace / f"{digest}.json"
    stored = _read_regular(path)
    if stored is not None:
        try:
            entry = json.loads(stored)
            if (
                isinstance(entry, dict)
                and entry.get("format") == FORMAT
                and entry.get("key") == full_key
                and entry.get("checksum") == _checksum(entry.get("payload"))
            ):
                result = decode(entry["payload"])
                if trusted(result):
                    return _remember(namespace, digest, result)
        except (ValueError, TypeError, KeyError, RecursionError):  # damaged, planted or from another format: derive afresh
            pass
    result = compute()
    if not definitive(result):
        return result
    _remember(namespace, digest, result)
    partial = None
    try:
        payload = encode(result)
        text = json.dumps({"format": FORMAT, "key": full_key, "payload": payload, "checksum": _checksum(payload)})
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".partial") as partial:
            partial.write(text)
        os.replace(partial.name, path)  # atomic: concurrent workers never read half a file
    except (OSError, ValueError):  # unwritable, or a result that cannot be stored as data
        if partial is not None:
            Path(partial.name).unlink(missing_ok=True)
    return result
