"""The ``dyncheck`` command line: ``main``, the parser, and one error policy.

Each topic's commands live in :mod:`dyncheck.proofs_check.commands` (one module a topic).
Exit status: 0 success (proved/verified; the work was done), 1 refuted (or a verify run that
did not pass), 2 bad input, 3 inconclusive, 130 interrupted.  Bad input
(:class:`dyncheck.theory.errors.UsageError`, or an option argparse rejects) gets one line and
no traceback, and is found before the work starts; any other error is a bug and shows its
traceback.  An expression that starts with ``-`` is passed after ``--`` or as
``--assume=-1<rho<1``.
"""

from __future__ import annotations

import os
import signal
import sys

from dyncheck.numerics.threads import limit_threads
from dyncheck.proofs_check.commands import affine, catalogue, control, gaussian, gradient_descent, identities, kernels, kuramoto, meanfield, meanfield_training, node, sgd
from dyncheck.proofs_check.commands.common import (
    EXIT_BAD_INPUT,
    EXIT_INCONCLUSIVE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUTED,
    Commands,
    Parser,
    in_main_thread,
)
from dyncheck.theory.errors import UsageError

__all__ = [
    "main",
    "EXIT_OK",
    "EXIT_REFUTED",
    "EXIT_BAD_INPUT",
    "EXIT_INCONCLUSIVE",
    "EXIT_INTERRUPTED",
    "build_parser",
    "version",
]

#: The exit status of a command whose output's reader went away (128 + SIGPIPE, as the shell reports it).
EXIT_BROKEN_PIPE = 141

#: The command modules, in the order --help lists their commands.
_TOPICS = (catalogue, identities, gaussian, meanfield, kernels, kuramoto, control, gradient_descent, sgd, affine, node, meanfield_training)

_EXAMPLES = """examples:
  dyncheck verify --report report            judge every claim; report.md, report.json and plots
  dyncheck check "E(erf(sqrt(q)*z)**2, z)" "2/pi*asin(2*q/(1+2*q))" --assume "q > 0"
  dyncheck meanfield --phi tanh --sw2 1.5 --sb2 0.05
  dyncheck list activations

each command has its own --help, with examples; threads: $DYNCHECK_THREADS (default: the cores)"""


def version() -> str:
    """The installed distribution's version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("dyncheck")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> Parser:
    """The whole command line: the commands of every topic module."""
    parser = Parser(prog="dyncheck", description="Derive, generate, simulate and verify the dynamical-systems theory of deep learning.", epilog=_EXAMPLES)
    parser.add_argument("--version", action="version", version=f"dyncheck {version()}")
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser, title="commands", help="one of:")
    commands = Commands(top)
    for topic in _TOPICS:
        topic.register(commands)
    return parser


#: Interrupts received during this run: one raised where Python ignores exceptions (a ``__del__``, an
#: at-fork handler) is lost there, but the run still ends as interrupted.
_interrupts: list[int] = []

#: The interrupt that ends a run at once, even while it is ending on an earlier one.  The second is only
#: recorded: raised while the first one's clean-up runs (workers joined, queues finalized), it would be lost
#: there with a traceback, or cut short the partial report.
FORCED_INTERRUPT = 3


def _interrupt(signum, frame):
    """SIGINT or SIGTERM (handled alike: workers are ended and a partial report says so): the first raises
    ``KeyboardInterrupt``, the second is recorded, the third raises again."""
    _interrupts.append(signum)
    if len(_interrupts) == 1 or len(_interrupts) >= FORCED_INTERRUPT:
        raise KeyboardInterrupt


def _line_buffered(stream) -> None:
    """Each line written as it is printed, also into a pipe (``verify | tee``: a long run shows its rows as they
    come, not in blocks of 8 KiB); a stream that cannot be reconfigured (a test's capture) is left as it is."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(line_buffering=True)
        except (ValueError, OSError):
            pass


def main(argv=None) -> int:
    """Run one command; the error policy of the module docstring."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        parser.print_usage(sys.stderr)
        print("dyncheck: error: choose a command (dyncheck --help lists them, with examples)", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        args = parser.parse_args(argv)
        for dest, option in args.required_options:
            if getattr(args, dest) is None:
                args.command_parser.error(f"the following arguments are required: {option}")
    except SystemExit as done:  # --help, --version, or a bad option (one line already written)
        return done.code if isinstance(done.code, int) else EXIT_BAD_INPUT
    import numpy as np

    _line_buffered(sys.stdout)
    handlers = {signal.SIGTERM: _interrupt, signal.SIGINT: _interrupt} if in_main_thread() else {}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    _interrupts.clear()
    try:
        # Non-finite intermediate values are checked and reported by the commands themselves: numpy's
        # own warnings about them would only add lines to the one-line messages.
        with np.errstate(all="ignore"), limit_threads():
            code = args.run(args)
        if _interrupts and code != EXIT_INTERRUPTED:  # the command did not see it (it reports one it saw)
            raise KeyboardInterrupt
        return code
    except UsageError as error:
        print(f"dyncheck: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("dyncheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of the output (`| head`) stopped: say nothing, exit as SIGPIPE would
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the interpreter's last flush is quiet too
        return EXIT_BROKEN_PIPE
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
