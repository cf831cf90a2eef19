"""What the benchmarks share: the best of repeated wall-clock timings (the least disturbed by a busy machine)."""

from __future__ import annotations

import time


def best_of(function, repeats: int) -> float:
    """The shortest of ``repeats`` timings of ``function()``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)
