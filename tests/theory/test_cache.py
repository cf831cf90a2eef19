"""The disk cache of derivations: data, never code; only definitive results; nothing read back unchecked."""

import json
import os
import threading

import pytest
import sympy as sp

from dyncheck.theory.activations import activation
from dyncheck.theory.cache import CACHE_ENV, cache_directory
from dyncheck.theory.gaussian import expect
from dyncheck.theory.symbols import U, V, Z
from dyncheck.theory.kernels import layer_maps
from dyncheck.theory.serialize import SerializationError, from_tree, to_tree


@pytest.fixture(autouse=True)
def _every_call_reads_the_disk(monkeypatch, request):
    """The cache remembers what it read or derived for the life of the process; these tests are about
    the disk, so that memory is off unless a test is about it."""
    if "memory" not in request.node.name:
        monkeypatch.setattr("dyncheck.theory.cache._remember", lambda namespace, digest, result: result)


def _entries(directory):
    return sorted((directory / "expect").glob("*.json"))


def test_a_derivation_is_stored_as_json_read_back_equal_and_keyed_by_its_budget(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    first = expect(sp.erf(2 * Z) ** 2, Z)
    (entry,) = _entries(tmp_path)
    stored = json.loads(entry.read_text())
    assert set(stored) == {"format", "key", "payload", "checksum"}
    assert expect(sp.erf(2 * Z) ** 2, Z) == first
    expect(sp.erf(2 * Z) ** 2, Z, time_limit_s=3.0)
    assert len(_entries(tmp_path)) == 2
    entry.write_bytes(b"truncated")  # a damaged entry is derived again and rewritten
    assert expect(sp.erf(2 * Z) ** 2, Z) == first
    assert json.loads(entry.read_text())["payload"] == stored["payload"]


def test_a_planted_pickle_is_never_loaded(tmp_path, monkeypatch):
    import pickle

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    expect(Z**4, Z)
    (entry,) = _entries(tmp_path)

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'pwned'}",))

    entry.write_bytes(pickle.dumps(Exploit()))
    assert expect(Z**4, Z).value == 3
    assert not (tmp_path / "pwned").exists()


def test_a_well_formed_entry_with_a_wrong_closed_form_is_caught_by_quadrature(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    q = sp.Symbol("q", positive=True)
    true = expect(sp.erf(sp.sqrt(q) * Z) ** 2, Z)
    (entry,) = _entries(tmp_path)
    stored = json.loads(entry.read_text())
    stored["payload"]["value"] = to_tree(true.value * (1 + sp.Rational(1, 10**6)))  # a poisoned formula
    from dyncheck.theory.cache import _checksum

    stored["checksum"] = _checksum(stored["payload"])  # whoever planted it could compute the checksum too
    entry.write_text(json.dumps(stored))
    assert expect(sp.erf(sp.sqrt(q) * Z) ** 2, Z).value == true.value
    # negative control: the same entry unpoisoned is read back (no derivation runs)
    monkeypatch.setattr("dyncheck.theory.gaussian._strategies", lambda *args: iter(()))
    assert expect(sp.erf(sp.sqrt(q) * Z) ** 2, Z).value == true.value


def test_only_regular_files_are_read_and_a_fifo_does_not_block(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    expect(Z**2, Z)
    (entry,) = _entries(tmp_path)
    entry.unlink()
    os.mkfifo(entry)
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("value", expect(Z**2, Z).value), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert result.get("value") == 1


def test_an_exhausted_budget_is_not_cached_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    derivation = expect(sp.exp(-(Z**4)), Z, time_limit_s=0.05)
    assert derivation.exhausted and not derivation.closed
    assert any("budget exhausted" in step for step in derivation.steps)
    assert not any("no closed form:" in step for step in derivation.steps)
    assert _entries(tmp_path) == []


def test_a_definitive_no_closed_form_is_cached_and_skips_the_strategies(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    phi = activation("tanh").expr()
    derived = layer_maps.__wrapped__(phi, time_limit_s=5)
    assert not derived.closed and not derived.nngp.exhausted
    monkeypatch.setattr("dyncheck.theory.gaussian._strategies", lambda *args: iter(()))  # nothing is derived again
    assert layer_maps.__wrapped__(phi, time_limit_s=5) == derived
    # negative control: an expectation not in the cache goes through the (now empty) strategies
    assert expect(sp.tanh(U) * sp.tanh(2 * V), (U, V), sp.Rational(1, 3)).steps[-1].startswith("no closed form")


def test_the_cache_is_off_or_elsewhere_on_request(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, "off")
    assert cache_directory() is None
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_directory() == tmp_path / "dyncheck"
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "unwritable" / "x"))
    (tmp_path / "unwritable").write_text("a file, not a directory")
    assert expect(Z**2, Z).value == 1  # the cache cannot be written: the derivation still returns


@pytest.mark.parametrize(
    "tree",
    [
        ["__import__", ["Integer", "1"]],
        ["Symbol", "os.system", {}],
        ["Symbol", "x", {"commutative": "yes"}],
        ["Integer", "1" * 5000],
        "x",
        [],
        ["Add"] + [["Integer", "1"]] * 3 + [["eval", ["Integer", "2"]]],
    ],
)
def test_trees_that_were_not_written_by_dyncheck_are_refused(tree):
    with pytest.raises(SerializationError):
        from_tree(tree)


def test_expressions_round_trip_and_dummies_are_refused():
    q, rho = sp.Symbol("q", positive=True), sp.Symbol("rho", real=True)
    for expr in [
        2 * sp.asin(2 * q / (1 + 2 * q)) / sp.pi,
        sp.Float("1.2345678901234567890123", 30) * q,
        sp.And(sp.Ge(1 - rho**2, 0), sp.Gt(q, 1)),
        sp.Piecewise((q, q > 1), (0, True)),
        sp.I * sp.erfc(q / sp.sqrt(2)) / 2,
    ]:
        assert from_tree(json.loads(json.dumps(to_tree(expr)))) == expr
    with pytest.raises(SerializationError):
        to_tree(sp.Dummy("t") + 1)


def test_an_entry_is_read_and_checked_once_a_process_memory(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    monkeypatch.setattr("dyncheck.theory.cache._SEEN", {})
    first = expect(sp.erf(3 * Z) ** 2, Z)
    (entry,) = _entries(tmp_path)
    entry.write_bytes(b"damaged after the first call")
    monkeypatch.setattr("dyncheck.theory.gaussian._strategies", lambda *args: iter(()))  # nothing may be derived again
    assert expect(sp.erf(3 * Z) ** 2, Z) == first  # from memory: no read, no check
