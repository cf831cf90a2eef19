"""One interface to numpy and torch arrays for the simulators of :mod:`numerics`."""

from __future__ import annotations

import math

import numpy as np

from dyncheck.theory.errors import UsageError

__all__ = ["ArrayBackend"]


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

    def normal(self, *shape, rng=None):
        rng = self.rng if rng is None else rng
        if self.name == "numpy":
            return rng.standard_normal(shape)
        return self.torch.randn(*shape, generator=rng, device=self.device, dtype=self.torch.float64)

    def stream(self, key: int):
        """A generator of its own for ``key``: the same draws each time it is asked for."""
        state = int(np.random.SeedSequence([self.seed, key]).generate_state(1, np.uint64)[0] >> 1)
        if self.name == "numpy":
            return np.random.default_rng(state)
        return self.torch.Generator(device=self.device).manual_seed(state)

    def orthogonal(self, batch, n, rng=None):
        g = self.normal(batch, n, n, rng=rng)
        qr = np.linalg.qr if self.name == "numpy" else self.torch.linalg.qr
        q, r = qr(g)
        diagonal = r.diagonal(0, -2, -1) if self.name == "torch" else np.diagonal(r, 0, -2, -1)
        signs = diagonal / abs(diagonal)
        return q * signs[..., None, :]  # Haar-distributed (Mezzadri 2007)

    def weights(self, ensemble: str, batch: int, n: int, sw2: float, rng=None):
        """``batch`` weight matrices: entries N(0, σ_w²/n) (``gaussian``) or σ_w × Haar-orthogonal."""
        if ensemble == "gaussian":
            return self.normal(batch, n, n, rng=rng) * math.sqrt(sw2 / n)
        return self.orthogonal(batch, n, rng=rng) * math.sqrt(sw2)

    def numpy(self, x):
        return x if self.name == "numpy" else x.detach().cpu().numpy()

    def apply(self, f, x):
        """f(x) with the shape of x (a generated function of a constant returns a number)."""
        y = f(x)
        if self.name == "numpy":
            return np.broadcast_to(np.asarray(y, float), x.shape)
        return y if isinstance(y, self.torch.Tensor) else self.torch.full_like(x, float(y))
