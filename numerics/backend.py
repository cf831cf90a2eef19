"""One interface to numpy and torch arrays for the simulators of :mod:`numerics`."""

from __future__ import annotations

import math

import numpy as np

from dyncheck.theory.errors import UsageError


def haar_orthogonal(gaussian: np.ndarray) -> np.ndarray:
    """The Haar-distributed matrix with orthonormal columns made from a tall (or square) Gaussian matrix: its QR
    factor Q with the signs of R's diagonal moved into it (Mezzadri 2007).  One matrix at a time through
    ``scipy.linalg.qr``: numpy's stacked QR is several times slower on square matrices of a few hundred."""
    from scipy.linalg import qr

    q, r = qr(gaussian, mode="economic", check_finite=False)
    return q * np.sign(np.diagonal(r))

__all__ = ["ArrayBackend", "child_seed", "haar_orthogonal"]


def child_seed(seed: np.random.SeedSequence, *keys: int) -> np.random.SeedSequence:
    """The descendant of ``seed`` at ``keys``: what ``seed.spawn`` would give at those positions, made directly."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, *keys), pool_size=seed.pool_size)


class ArrayBackend:
    """The few array operations the simulators need, for numpy or torch on any device (checked on construction)."""

    def __init__(self, backend: str, device: str, seed: int):
        self.name, self.device, self.seed = backend, device, seed
        if backend == "numpy":
            if device != "cpu":
                raise UsageError("the numpy backend runs on the CPU; use --backend torch for CUDA")
            self.rng = np.random.default_rng(seed)
        elif backend == "torch":
            try:
                import torch
            except ImportError:
                raise UsageError("the torch backend needs torch: pip install 'dyncheck[torch]'") from None
            if device.startswith("cuda") and not torch.cuda.is_available():
                raise UsageError("CUDA is not available on this machine")
            self.torch = torch
            self.rng = torch.Generator(device=device).manual_seed(seed)
        else:
            raise UsageError(f"unknown backend {backend!r}; choose numpy or torch")

    def normal(self, *shape, rng=None, out=None):
        """Standard normal draws of ``shape`` (float64) from ``rng`` (this backend's own generator by default), into ``out`` if given."""
        rng = self.rng if rng is None else rng
        if self.name == "numpy":
            return rng.standard_normal(shape, out=out)
        if out is not None:
            return self.torch.randn(*shape, generator=rng, out=out)
        return self.torch.randn(*shape, generator=rng, device=self.device, dtype=self.torch.float64)

    def generator(self, seed: np.random.SeedSequence):
        """A generator of this backend seeded by ``seed`` (numpy: from the sequence itself; torch: 63 bits of its state)."""
        if self.name == "numpy":
            return np.random.default_rng(seed)
        return self.torch.Generator(device=self.device).manual_seed(int(seed.generate_state(1, np.uint64)[0] >> 1))

    def weights(self, ensemble: str, n: int, sw2: float, generators) -> object:
        """One n × n weight matrix from each generator, stacked: entries N(0, σ_w²/n) (``gaussian``) or σ_w × Haar-orthogonal.

        Each matrix depends on its generator alone, so a network's weights are the same in any batch."""
        w = np.empty((len(generators), n, n)) if self.name == "numpy" else self.torch.empty(len(generators), n, n, device=self.device, dtype=self.torch.float64)
        for k, rng in enumerate(generators):
            self.normal(n, n, rng=rng, out=w[k])
        if ensemble == "gaussian":
            w *= math.sqrt(sw2 / n)  # in place: one batch of n² entries in memory, not two
            return w
        if self.name == "numpy":
            for k in range(w.shape[0]):
                w[k] = haar_orthogonal(w[k])
            w *= math.sqrt(sw2)
            return w
        q, r = self.torch.linalg.qr(w)
        diagonal = r.diagonal(0, -2, -1)
        q *= (diagonal / abs(diagonal))[..., None, :] * math.sqrt(sw2)  # Haar-distributed (Mezzadri 2007)
        return q

    def stack(self, arrays):
        return np.stack(arrays) if self.name == "numpy" else self.torch.stack(arrays)

    def concatenate(self, arrays, axis: int):
        return np.concatenate(arrays, axis) if self.name == "numpy" else self.torch.cat(arrays, dim=axis)

    def numpy(self, x):
        return x if self.name == "numpy" else x.detach().cpu().numpy()

    def apply(self, f, x):
        """f(x) with the shape of x (a generated function of a constant returns a number)."""
        y = f(x)
        if self.name == "numpy":
            return np.broadcast_to(np.asarray(y, float), x.shape)
        return y if isinstance(y, self.torch.Tensor) else self.torch.full_like(x, float(y))
