"""Reports of a verify run: a terminal table, Markdown, JSON and a convergence plot."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from proofs_check.claim import ClaimResult, Profile
from proofs_check.verdicts import REFUTED

__all__ = ["table", "write_report", "run_summary", "passed"]

SCHEMA_VERSION = 1


def passed(results: list[ClaimResult]) -> bool:
    """No claim refuted and every negative control refuted."""
    return all(r.verdict != REFUTED and r.control_refuted for r in results)


def table(results: list[ClaimResult]) -> str:
    width = max((len(r.claim_id) for r in results), default=10)
    lines = [f"{'claim':<{width}}  {'verdict':<12}  {'control':<12}  {'time':>6}"]
    lines.append("-" * len(lines[0]))
    for r in results:
        lines.append(f"{r.claim_id:<{width}}  {r.verdict:<12}  {r.control_verdict:<12}  {r.seconds:5.1f}s")
    counts = {}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    lines.append("")
    lines.append(", ".join(f"{n} {v}" for v, n in sorted(counts.items())) + f"; negative controls refuted: {sum(r.control_refuted for r in results)}/{len(results)}")
    return "\n".join(lines)


def run_summary(results: list[ClaimResult], profile: Profile) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "profile": profile.name,
        "passed": passed(results),
        "python": platform.python_version(),
        "claims": [r.to_json() for r in results],
    }


def _markdown(results: list[ClaimResult], profile: Profile) -> str:
    out = [f"# dyncheck verify — profile `{profile.name}`", ""]
    out.append("| claim | verdict | negative control | time |")
    out.append("|---|---|---|---|")
    for r in results:
        out.append(f"| `{r.claim_id}` | **{r.verdict}** | {r.control_verdict} | {r.seconds:.1f} s |")
    for r in results:
        out += ["", f"## `{r.claim_id}`", "", f"Source: {r.source}", "", f"$$ {r.statement} $$", ""]
        out.append(f"**{r.verdict}** — {r.reason}")
        out.append("")
        out.append("| route | outcome | evidence | time |")
        out.append("|---|---|---|---|")
        for e in r.evidence:
            out.append(f"| {e.route} | {e.outcome} | {e.summary} | {e.seconds:.2f} s |")
        out.append("")
        out.append(f"Negative control: **{r.control_verdict}** — {r.control_reason}")
    out.append("")
    out.append("![Monte Carlo convergence](monte_carlo_rates.png)")
    return "\n".join(out) + "\n"


def _rate_plot(results: list[ClaimResult], path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(r.claim_id, e.details) for r in results for e in r.evidence if e.route == "monte-carlo" and "rate_rms" in e.details]
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(7, 5))
    for claim_id, d in rows:
        n, rms = np.array(d["rate_sizes"]), np.array(d["rate_rms"])
        ax.loglog(n, rms / rms[0], "o-", lw=1, ms=3, label=f"{claim_id.split('.', 1)[1]} (slope {d['rate_slope']:.2f})")
    n = np.array(rows[0][1]["rate_sizes"])
    ax.loglog(n, np.sqrt(n[0] / n), "k--", lw=2, label="N^-1/2")
    ax.set_xlabel("samples N")
    ax.set_ylabel("RMS error / RMS error at smallest N")
    ax.set_title("Monte Carlo error against the claimed closed forms")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def write_report(results: list[ClaimResult], profile: Profile, directory: str | Path) -> list[Path]:
    """Write ``report.json``, ``report.md`` and ``monte_carlo_rates.png``; return the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "report.json", directory / "report.md"]
    paths[0].write_text(json.dumps(run_summary(results, profile), indent=2, default=str))
    paths[1].write_text(_markdown(results, profile))
    plot = directory / "monte_carlo_rates.png"
    if _rate_plot(results, plot):
        paths.append(plot)
    return paths
