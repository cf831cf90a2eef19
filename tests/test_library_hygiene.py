"""The library's public surface and manners: curated ``__all__``, no backend switching, one namespace."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil

import pytest

PACKAGES = ("dyncheck.theory", "dyncheck.numerics", "dyncheck.proofs_check", "dyncheck.proofs_check.claims")


def _modules():
    for package in PACKAGES:
        module = importlib.import_module(package)
        yield module
        for info in pkgutil.iter_modules(module.__path__):
            if not info.ispkg:
                yield importlib.import_module(f"{package}.{info.name}")


MODULES = sorted(_modules(), key=lambda m: m.__name__)


def test_the_packages_live_under_dyncheck():
    for package in PACKAGES:
        assert importlib.import_module(package).__name__.startswith("dyncheck.")


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_all_is_true_and_complete(module):
    """In the style of hypothesis' ``_check_exports``: ``__all__`` names only what the module has, and every
    public function and class the module defines (a helper is private: its name starts with ``_``).
    Upper-case constants are documented tunables; exporting them is a choice."""
    assert hasattr(module, "__all__"), f"{module.__name__} has no __all__"
    exported = set(module.__all__)
    if module.__name__ in PACKAGES[:3]:  # the three packages export their modules
        assert exported == {info.name for info in pkgutil.iter_modules(module.__path__)}
        return
    assert len(exported) == len(module.__all__), "a name is exported twice"
    missing = sorted(n for n in exported if not hasattr(module, n))
    assert not missing, f"{module.__name__}.__all__ names undefined {missing}"
    tree = ast.parse(inspect.getsource(module))
    defined = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
    public = {n for n in defined if not n.startswith("_") and n != "__all__"}
    unexported = sorted(public - exported)
    assert not unexported, f"{module.__name__} defines public names missing from __all__: {unexported}"


def test_no_library_module_switches_the_matplotlib_backend():
    for module in MODULES:
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "use":
                owner = node.func.value
                assert not (isinstance(owner, ast.Name) and owner.id == "matplotlib"), f"{module.__name__} calls matplotlib.use"


def test_a_plot_leaves_the_backend_and_pyplot_alone(tmp_path):
    import matplotlib
    import numpy as np

    from dyncheck.numerics.kuramoto import plot_bifurcation

    before = matplotlib.get_backend()
    plot_bifurcation(np.array([1.0, 2.0]), {"N = 10": (np.array([0.1, 0.5]), np.array([0.01, 0.02]))}, np.array([1.0, 2.0]), np.array([0.0, 0.5]), "t", str(tmp_path / "b.png"))
    assert matplotlib.get_backend() == before
    assert (tmp_path / "b.png").stat().st_size > 0


def test_the_wheel_installs_dyncheck_alone(tmp_path):
    """A non-editable install holds one top-level package, dyncheck (no `theory`, `numerics` or
    `proofs_check` of its own in site-packages), with every subpackage."""
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    import shutil

    root, source = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file()), tmp_path / "source"  # built in a copy: the build leaves folders behind
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, source / name)
    for name in ("theory", "numerics", "proofs_check"):
        shutil.copytree(root / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True, cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("dyncheck-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"dyncheck"}
    for package in (*PACKAGES, "dyncheck.proofs_check.commands"):
        assert f"{package.replace('.', '/')}/__init__.py" in names, package
