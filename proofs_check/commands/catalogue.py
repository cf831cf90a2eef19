"""``dyncheck verify`` (judge the catalogue of claims) and ``dyncheck list`` (the activations, the claims)."""

from __future__ import annotations

import contextlib
import json
import signal
import sys

from dyncheck.numerics.threads import budget
from dyncheck.proofs_check.commands.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUTED,
    Commands,
    add_executor,
    add_json,
    in_main_thread,
    output_folder,
    scheduler_of,
)
from dyncheck.theory.errors import UsageError

__all__ = ["register"]


def register(commands: Commands) -> None:
    verify = commands.add(
        commands.top, "verify", help="judge the catalogue of claims from the literature, each by independent routes",
        examples="  dyncheck verify --report report\n  dyncheck verify --only meanfield --json\n  dyncheck verify --only 'kernels.*ntk*' --jobs 1\n  dyncheck verify --scheduler tcp://10.0.0.5:8786     (one task a topic on a Dask cluster)",
        run=_verify,
    )
    verify.add_argument("--only", metavar="PATTERN", help="claim ids matching a glob or prefix (e.g. gaussian; dyncheck list claims shows them)")
    verify.add_argument("--profile", choices=["quick", "full"], default="quick", help="quick (default, under 2 minutes on 2 cores) or full (more replicates and widths)")
    verify.add_argument("--report", metavar="DIR", type=output_folder, help="write report.md, report.json and plots to DIR")
    add_executor(verify, store=False)
    add_json(verify)

    listing = commands.add(
        commands.top, "list", help="list the registered activations or the claims of the catalogue",
        examples="  dyncheck list activations\n  dyncheck list claims --only kuramoto\n  dyncheck list claims --json",
        run=_list,
    )
    listing.add_argument("what", choices=["activations", "claims"], help="activations or claims")
    listing.add_argument("--only", metavar="PATTERN", help="claims: ids matching a glob or prefix")
    add_json(listing)


def _verify(args) -> int:
    from dyncheck.numerics.sweep import dask_client
    from dyncheck.proofs_check.claim import PROFILES
    from dyncheck.proofs_check.claims import select

    claims = select(args.only)
    if not claims:
        raise UsageError(f"no claim matches {args.only!r}")
    profile = PROFILES[args.profile]
    scheduler = scheduler_of(args)
    with dask_client(scheduler) if scheduler else contextlib.nullcontext() as client:  # reached before any work
        return _judge(claims, profile, args, client)


def _judge(claims, profile, args, client) -> int:
    from tqdm import tqdm

    from dyncheck.proofs_check.report import passed, run_summary, table_header, table_row, table_summary, write_report
    from dyncheck.proofs_check.runner import judge

    results = []
    bar = tqdm(total=len(claims), desc=f"verify ({profile.name})", unit="claim", file=sys.stderr, disable=args.json or None)
    width = max(len(claim.id) for claim in claims)
    if not args.json:  # the table's rows as the claims finish (in that order), the bar redrawn below them
        bar.write(table_header(width), file=sys.stdout)
    stream = judge(claims, profile, args.jobs or budget(), client)
    interrupted = False
    try:
        for result in stream:
            results.append(result)
            if not args.json:
                bar.write(table_row(result, width), file=sys.stdout)
            bar.update(1)
            bar.set_postfix_str(result.claim_id)
    except KeyboardInterrupt:
        interrupted = True
    # A second Ctrl-C (or SIGTERM) must not cut the partial report short: held off until it is written.
    held = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)} if in_main_thread() else {}
    try:
        stream.close()  # ends the workers
        bar.close()
        complete = not interrupted and len(results) == len(claims)
        order = {claim.id: i for i, claim in enumerate(claims)}
        results.sort(key=lambda r: order[r.claim_id])
        if args.json:
            print(json.dumps(run_summary(results, profile, complete), indent=2, default=str))
        else:
            print("\n" + table_summary(results))
        if args.report:
            paths = write_report(results, profile, args.report, complete)
            if not args.json:
                print("report: " + ", ".join(str(p) for p in paths))
    finally:
        for sig, handler in held.items():
            signal.signal(sig, handler)
    if interrupted:
        print(f"dyncheck: interrupted after {len(results)} of {len(claims)} claim(s); the report says it is incomplete", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if passed(results) and complete else EXIT_REFUTED


def _list(args) -> int:
    if args.what == "activations":
        from dyncheck.theory.activations import ACTIVATIONS, ALIASES

        rows = [{"name": name, "expression": str(a.expr()), "aliases": sorted(k for k, v in ALIASES.items() if v == name)} for name, a in ACTIVATIONS.items()]
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            for row in rows:
                aliases = f"  (also {', '.join(row['aliases'])})" if row["aliases"] else ""
                print(f"{row['name']:>12}  {row['expression']}{aliases}")
        return EXIT_OK
    from dyncheck.proofs_check.claims import select

    claims = select(args.only)
    if not claims:
        raise UsageError(f"no claim matches {args.only!r}")
    rows = [{"id": c.id, "statement": c.statement, "source": c.source} for c in claims]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['id']}\n    {row['statement']}\n    {row['source']}")
    return EXIT_OK
