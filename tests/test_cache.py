"""The disk cache of derivations: a second call reads what the first derived, and a bad file is re-derived."""

import sympy as sp

from theory.activations import activation
from theory.cache import CACHE_ENV, cache_directory
from theory.gaussian import U, V, Z, expect
from theory.kernels import layer_maps


def test_a_derivation_is_read_back_equal_and_keyed_by_its_time_limit(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    first = expect(sp.erf(2 * Z) ** 2, Z)
    files = list((tmp_path / "expect").iterdir())
    assert len(files) == 1
    assert expect(sp.erf(2 * Z) ** 2, Z) == first
    expect(sp.erf(2 * Z) ** 2, Z, time_limit_s=3.0)
    assert len(list((tmp_path / "expect").iterdir())) == 2
    files[0].write_bytes(b"truncated")  # a damaged entry is derived again and rewritten
    assert expect(sp.erf(2 * Z) ** 2, Z) == first
    assert files[0].read_bytes() != b"truncated"


def test_a_second_derivation_of_tanh_skips_its_time_limits(tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    phi = activation("tanh").expr()
    derived = layer_maps.__wrapped__(phi, time_limit_s=0.5)
    assert not derived.closed and any("stopped after 0.5 s" in step for step in derived.nngp.steps)
    monkeypatch.setattr("theory.gaussian._strategies", lambda *args: iter(()))  # nothing is derived again
    assert layer_maps.__wrapped__(phi, time_limit_s=0.5) == derived
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
