"""Reports of a verify run: a terminal table, Markdown, JSON and a convergence plot."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from dyncheck.proofs_check.claim import ClaimResult, Profile
from dyncheck.proofs_check.verdicts import REFUTED

__all__ = ["passed", "run_summary", "table_header", "table_row", "table_summary", "write_report"]

SCHEMA_VERSION = 1


def passed(results: list[ClaimResult]) -> bool:
    """No claim refuted or failed, and every negative control refuted — or, where torch is not installed, left
    undecided by the routes that need it (never accepted by a route that ran)."""
    return all(
        r.verdict != REFUTED and r.error is None and not r.control_accepted_by and (r.control_refuted or r.control_waits_for_torch)
        for r in results
    )


def table_header(width: int) -> str:
    """The verdict table's heading, for claim ids of up to ``width`` characters."""
    head = f"{'claim':<{width}}  {'verdict':<12}  {'control':<12}  {'time':>6}"
    return head + "\n" + "-" * len(head)


def table_row(result: ClaimResult, width: int) -> str:
    return f"{result.claim_id:<{width}}  {result.verdict:<12}  {result.control_verdict:<12}  {result.seconds:5.1f}s"


def table_summary(results: list[ClaimResult]) -> str:
    """The counts of verdicts and refuted controls, and a line for each control accepted and each error."""
    counts = {}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    lines = [", ".join(f"{n} {v}" for v, n in sorted(counts.items())) + f"; negative controls refuted: {sum(r.control_refuted for r in results)}/{len(results)}"]
    skipped = [r for r in results if r.skipped_without_torch]
    if skipped:
        lines.append(
            f"torch is not installed: {len(skipped)} claim(s) ran without their torch routes, and rest on the others "
            f"(inconclusive where fewer than two remain; install torch as the README's Set-up says to run them):"
        )
        lines += [f"  {r.claim_id}: {r.verdict} without {', '.join(r.skipped_without_torch)}" for r in skipped]
    for r in results:
        if r.control_accepted_by:
            lines.append(f"{r.claim_id}: the negative control was accepted by {', '.join(r.control_accepted_by)}")
        if r.error:
            lines.append(f"{r.claim_id}: {r.reason}")
    return "\n".join(lines)


def run_summary(results: list[ClaimResult], profile: Profile, complete: bool = True) -> dict:
    """The JSON report; an incomplete run (interrupted) never passes."""
    return {
        "schema_version": SCHEMA_VERSION,
        "profile": profile.name,
        "complete": complete,
        "passed": complete and passed(results),
        "skipped_without_torch": {r.claim_id: r.skipped_without_torch for r in results if r.skipped_without_torch},
        "python": platform.python_version(),
        "claims": [r.to_json() for r in results],
    }


def _markdown(results: list[ClaimResult], profile: Profile, plot: str | None, complete: bool) -> str:
    out = [f"# dyncheck verify — profile `{profile.name}`", ""]
    if not complete:
        out += [f"**Incomplete**: the run was interrupted after {len(results)} claim(s); it does not pass.", ""]
    out.append("| claim | verdict | negative control | time |")
    out.append("|---|---|---|---|")
    for r in results:
        out.append(f"| `{r.claim_id}` | **{r.verdict}** | {r.control_verdict} | {r.seconds:.1f} s |")
    for r in results:
        out += ["", f"## `{r.claim_id}`", "", f"Source: {r.source}", "", f"$$ {r.statement} $$", ""]
        out.append(f"**{r.verdict}** — {r.reason}")
        if r.error:
            out += ["", "```", r.error.strip(), "```"]
        out.append("")
        out.append("| route | outcome | evidence | time |")
        out.append("|---|---|---|---|")
        for e in r.evidence:
            out.append(f"| {e.route} | {e.outcome} | {e.summary} | {e.seconds:.2f} s |")
        out.append("")
        out.append(f"Negative control: **{r.control_verdict}** — {r.control_reason}")
        if r.control_evidence:
            out += ["", "| route | outcome on the control | evidence |", "|---|---|---|"]
            out += [f"| {e.route} | {e.outcome} | {e.summary} |" for e in r.control_evidence]
        if r.control_accepted_by:
            out += ["", f"**The control was accepted by {', '.join(r.control_accepted_by)}**: that route cannot tell the formula from the mistake, so it is no evidence."]
    if plot is not None:
        out += ["", f"![Convergence of the sampling and finite-system routes]({plot})"]
    return "\n".join(out) + "\n"


def _rate_plot(results: list[ClaimResult], path: Path) -> bool:
    """Small multiples, one panel a topic: log–log RMS error against size, relative to the smallest, for every
    claim's route that measured a rate (sampling an expectation, or simulating finite systems of growing size),
    beside size^(−1/2); the legend gives each claim and its fitted slope."""
    import math

    import matplotlib

    from dyncheck.numerics.figures import DATA, THEORY, figure

    rows = [(r.claim_id, e.route, e.details) for r in results for e in r.evidence if "rate_rms" in e.details]
    if not rows:
        return False
    topics = list(dict.fromkeys(claim_id.split(".", 1)[0] for claim_id, _, _ in rows))
    columns = min(2, len(topics))
    lines = math.ceil(len(topics) / columns)
    series = [sum(row[0].split(".", 1)[0] == topic for row in rows) for topic in topics]
    # each panel: its axes, and its legend beside them (0.12 in a line)
    heights = [max(3.2, 0.12 * (max(series[k : k + columns]) + 3)) for k in range(0, len(topics), columns)]
    with figure(path, figsize=(6.6 * columns, sum(heights))) as fig:
        axes = fig.subplots(lines, columns, squeeze=False, gridspec_kw={"height_ratios": heights}).ravel()
        for ax, topic, count in zip(axes, topics, series):
            chosen = [row for row in rows if row[0].split(".", 1)[0] == topic]
            colours = matplotlib.colormaps["tab20" if count > 10 else "tab10"].colors
            for k, (claim_id, route, d) in enumerate(chosen):
                n, rms = np.array(d["rate_sizes"]), np.array(d["rate_rms"])
                ax.loglog(n / n[0], rms / rms[0], marker="o", ms=3, color=colours[k % len(colours)], zorder=DATA,
                          label=f"{claim_id.split('.', 1)[1]}, {route} ({d['rate_slope']:.2f})")
            span = np.geomspace(1, max(d["rate_sizes"][-1] / d["rate_sizes"][0] for _, _, d in chosen), 20)
            ax.loglog(span, span**-0.5, "k--", lw=1.6, zorder=THEORY, label=r"size$^{-1/2}$")
            ax.set(title=topic, xlabel="size (samples, width or oscillators) / smallest", ylabel="RMS error / at the smallest")
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=6.5, title="claim, route (fitted slope)",
                      title_fontsize=6.5, frameon=False)
        for ax in axes[len(topics):]:
            ax.set_visible(False)
        fig.suptitle("Convergence of the sampling and finite-system routes, by topic")
    return True


def write_report(results: list[ClaimResult], profile: Profile, directory: str | Path, complete: bool = True) -> list[Path]:
    """Write ``report.json``, ``report.md`` and ``monte_carlo_rates.png``; return the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "report.json", directory / "report.md"]
    paths[0].write_text(json.dumps(run_summary(results, profile, complete), indent=2, default=str))
    plot = directory / "monte_carlo_rates.png"
    plotted = _rate_plot(results, plot)
    paths[1].write_text(_markdown(results, profile, plot.name if plotted else None, complete))
    return paths + [plot] if plotted else paths
