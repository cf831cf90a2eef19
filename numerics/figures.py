"""One style for every figure dyncheck draws.

* :func:`figure` — a matplotlib ``Figure`` (no pyplot state: safe on threads and headless) drawn and saved
  under :data:`STYLE`: 9-pt text and 8-pt legends, constrained layout, light grids, 150 dpi.
* :func:`robust_norm` — a colour scale that one outlier cannot take over: its range is that of the data
  between two percentiles, values beyond are drawn in the end colours, and :func:`colorbar` says so in
  its label and with arrows.
* :data:`THEORY` and :data:`DATA` — drawing orders: a theory curve is drawn above the points it predicts.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

__all__ = ["DATA", "STYLE", "THEORY", "colorbar", "figure", "robust_norm"]

#: matplotlib settings of every figure.
STYLE = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "legend.framealpha": 0.9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.6,
    "lines.linewidth": 1.4,
    "lines.markersize": 4,
    "savefig.dpi": 150,
}
#: zorder of measured points and of the theory drawn over them.
DATA, THEORY = 2, 3


@contextlib.contextmanager
def figure(path, **kwargs):
    """``with figure(path, figsize=…) as fig:`` draw on ``fig``; it is saved to ``path`` on leaving, in the house style."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        fig = Figure(layout="constrained", **kwargs)
        yield fig
        fig.savefig(Path(path))


def robust_norm(values, *, log: bool = False, percentiles: tuple[float, float] = (1.0, 99.0)):
    """A ``Normalize`` (``LogNorm`` with ``log``) over the finite (positive, with ``log``) ``values`` between two percentiles.

    Returns ``(norm, clipped)``: ``clipped`` names the ends cut ("min", "max", "both" or "neither"), for the colourbar.
    """
    from matplotlib.colors import LogNorm, Normalize

    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite) & ((finite > 0) if log else True)]
    if finite.size == 0:
        return (LogNorm() if log else Normalize()), "neither"
    lo, hi = np.percentile(finite, percentiles)
    if not hi > lo:
        lo, hi = finite.min(), finite.max()
    if not hi > lo:
        hi = lo * 10 if log else lo + 1
    below, above = finite.min() < lo, finite.max() > hi
    clipped = {(True, True): "both", (True, False): "min", (False, True): "max", (False, False): "neither"}[(below, above)]
    return (LogNorm(lo, hi) if log else Normalize(lo, hi)), clipped


def colorbar(fig, image, ax, label: str, clipped: str = "neither", percentiles: tuple[float, float] = (1.0, 99.0)):
    """A colourbar whose label says where the scale was clipped (:func:`robust_norm`), with arrows at the cut ends."""
    lo, hi = (_ordinal(p) for p in percentiles)
    notes = {"max": f"above the {hi} percentile", "min": f"below the {lo} percentile", "both": f"outside the {lo}–{hi} percentiles"}
    text = label if clipped == "neither" else f"{label}\n(clipped {notes[clipped]})"
    return fig.colorbar(image, ax=ax, label=text, extend=clipped if clipped != "neither" else "neither")


def _ordinal(p: float) -> str:
    text = f"{p:g}"
    if not text.isdigit():
        return text + "th"
    n = int(text)
    return text + ("th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th"))
