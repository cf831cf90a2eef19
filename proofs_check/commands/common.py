"""What every command shares: exit statuses, option types, the options that mean the same in every
command (one vocabulary), deprecated spellings, and output helpers.

The vocabulary (each name means one thing everywhere):

* ``--phi`` the activation (a registered name or an expression in x); ``--sw2``/``--sb2`` the
  weight and bias variances σ_w², σ_b² (σ_b² defaults to 0.05 wherever it is optional);
* ``--depth`` the number of nonlinearities (hidden layers); ``--width`` a network's width;
* ``--seed`` the seed a command's randomness is derived from; ``--replicates`` the number of
  independent networks or populations, for standard errors;
* ``--plot FILE`` a figure, ``--output FILE`` a data file, ``--report DIR`` a folder of reports;
  ``--json`` the result as JSON on standard output;
* ``--backend numpy|torch`` and ``--device cpu|cuda|cuda:N``;
* lists are space-separated (``--kind nngp ntk``, ``--widths 256 1024``).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys

import sympy as sp

from dyncheck.theory.errors import UsageError

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_INCONCLUSIVE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REFUTED",
    "SB2_DEFAULT",
    "Commands",
    "Parser",
    "activation_expr",
    "add_activation",
    "add_backend",
    "add_executor",
    "add_json",
    "add_plot",
    "add_replicates",
    "add_seed",
    "add_variances",
    "at_least",
    "check_backend",
    "count",
    "deprecated",
    "device",
    "finite",
    "in_main_thread",
    "json_number",
    "output_file",
    "output_folder",
    "readable",
    "require_memory",
    "scheduler_of",
    "theory_for",
    "units_here",
    "wrote",
]

EXIT_OK, EXIT_REFUTED, EXIT_BAD_INPUT, EXIT_INCONCLUSIVE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: σ_b² wherever a command does not require it.
SB2_DEFAULT = 0.05


def _sentence(text: str) -> str:
    """A command's one-line help as its description: a capital first letter where it is Latin (χ₁ stays χ₁, not Χ₁)."""
    first = text[:1]
    capital = first.upper() if first.isascii() else first
    return capital + text[1:] + "."


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit 2, with a pointer to ``--help``."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)
        # a value such as -1e6 or -1.5e0 is a number, not an option (argparse's own pattern knows -1 and -1.5 only),
        # and so is a comma-separated list of numbers that starts with one (a teacher neuron -0.5,2)
        number = r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
        self._negative_number_matcher = re.compile(rf"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(,{number})*$")

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"dyncheck: error: {' '.join(message.split())} (see {self.prog} --help)\n")


class Commands:
    """Where a topic's module registers its commands: top-level ones (``top``), and the ``simulate``, ``train``,
    ``sgd`` and ``node`` groups, each made where a topic first asks for it (so --help lists it there)."""

    _GROUPS = {
        "simulate": ("simulate finite random systems against their theory", "SYSTEM", "what to simulate"),
        "train": ("train networks: as optimal control problems, or beside their linearization", "METHOD", "how to train"),
        "sgd": ("SGD beside an interpolation minimum, a random dynamical system", "QUESTION", "what to ask"),
        "node": ("neural ODEs: flows, the monotone obstruction, training with and without augmentation", "QUESTION", "what to ask"),
    }

    def __init__(self, top):
        self.top, self._groups = top, {}

    def _group(self, name: str):
        if name not in self._groups:
            help, metavar, what = self._GROUPS[name]
            parser = self.top.add_parser(name, help=help, description=_sentence(help))
            self._groups[name] = parser.add_subparsers(dest=metavar.lower(), metavar=metavar, required=True, parser_class=Parser, title=f"{what} ({metavar})", help="one of:")
        return self._groups[name]

    @property
    def simulate(self):
        return self._group("simulate")

    @property
    def train(self):
        return self._group("train")

    @property
    def sgd(self):
        return self._group("sgd")

    @property
    def node(self):
        return self._group("node")

    @staticmethod
    def add(group, name: str, *, help: str, examples: str, run) -> Parser:
        """A command ``name`` in ``group`` with its one-line ``help``, the ``examples`` shown by its --help, and ``run(args)``."""
        parser = group.add_parser(name, help=help, description=_sentence(help), epilog="examples:\n" + examples)
        parser.set_defaults(run=run, required_options=[], command_parser=parser)
        return parser


# ---------------------------------------------------------------------------
# Option types: every number is checked, and bounded, before the work starts.


def finite(text: str) -> float:
    """An option's number: finite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    return value


def at_least(low: float, *, strict: bool = False, high: float | None = None):
    """A finite number ≥ ``low`` (> with ``strict``), and ≤ ``high``."""

    def parse(text: str) -> float:
        value = finite(text)
        if (value <= low if strict else value < low) or (high is not None and value > high):
            bound = f"{'>' if strict else '≥'} {low:g}" + (f" and ≤ {high:g}" if high is not None else "")
            raise argparse.ArgumentTypeError(f"{text} must be {bound}")
        return value

    return parse


def count(low: int, high: int):
    """An option's whole number in [low, high]: the upper bound keeps memory and time finite."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} must lie in {low} … {high}")
        return value

    return parse


def _writable(folder: str) -> bool:
    """Whether a file can be created in ``folder`` (tried, not guessed: root passes every access check)."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def output_file(text: str) -> str:
    """An output file: its folder must exist and take a new file, and it must not be a folder."""
    path = os.path.abspath(text)
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"the folder of {text} does not exist")
    if not _writable(folder):
        raise argparse.ArgumentTypeError(f"the folder of {text} is not writable")
    return text


def output_folder(text: str) -> str:
    """An output folder: created now if missing (so that the work does not end on an error), and writable."""
    try:
        os.makedirs(text, exist_ok=True)
    except OSError as error:
        raise argparse.ArgumentTypeError(f"{text} cannot be created: {error.strerror}") from None
    if not os.path.isdir(text) or not _writable(text):
        raise argparse.ArgumentTypeError(f"{text} is not a writable folder")
    return text


def device(text: str) -> str:
    """cpu, cuda or cuda:N."""
    if text == "cpu" or text == "cuda" or (text.startswith("cuda:") and text[5:].isdigit()):
        return text
    raise argparse.ArgumentTypeError(f"{text!r} is not a device: use cpu, cuda or cuda:N")


# ---------------------------------------------------------------------------
# The shared options


class _Deprecated(argparse.Action):
    """An old spelling: stores into the new option's destination and says, once, what to write instead."""

    def __init__(self, option_strings, dest, replacement: str, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.replacement = replacement

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"dyncheck: warning: {option_string} is deprecated (to be removed in 0.3); write {self.replacement}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def deprecated(parser: argparse.ArgumentParser, old: str, new: argparse.Action) -> None:
    """``old`` as a deprecated spelling of the option ``new``: hidden from --help, a warning when used.

    A required ``new`` stays required, checked after parsing (either spelling satisfies it)."""
    if new.required:
        new.required = False
        parser.get_default("required_options").append((new.dest, new.option_strings[0]))
    parser.add_argument(
        old, dest=new.dest, type=new.type, nargs=new.nargs, choices=new.choices, metavar=new.metavar,
        action=_Deprecated, replacement=new.option_strings[0], help=argparse.SUPPRESS,
    )


def add_activation(parser) -> None:
    parser.add_argument("--phi", required=True, metavar="ACTIVATION", help="a registered activation (dyncheck list activations) or an expression in x, e.g. 'x*erf(x)'")


def add_variances(parser, *, sw2_required: bool = True, sw2_default: float | None = None, many: bool = False) -> None:
    """--sw2 (σ_w² > 0; ``many``: one or more) and --sb2 (σ_b² ≥ 0, default :data:`SB2_DEFAULT`)."""
    kwargs = {"nargs": "+"} if many else {}
    parser.add_argument(
        "--sw2", type=at_least(0, strict=True, high=1e6), required=sw2_required, default=sw2_default, metavar="SIGMA_W2",
        help=("weight variances σ_w² > 0, one result each" if many else "weight variance σ_w² > 0") + (f" (default {sw2_default:g})" if sw2_default else ""), **kwargs,
    )
    parser.add_argument("--sb2", type=at_least(0, high=1e6), default=SB2_DEFAULT, metavar="SIGMA_B2", help=f"bias variance σ_b² ≥ 0 (default {SB2_DEFAULT:g})")


def add_backend(parser) -> None:
    parser.add_argument("--backend", choices=["numpy", "torch"], default="numpy", help="array library (default numpy; torch: pip install 'dyncheck[torch]')")
    parser.add_argument("--device", type=device, default="cpu", help="cpu (default), cuda or cuda:N (torch)")


def add_seed(parser) -> None:
    parser.add_argument("--seed", type=count(0, 2**32 - 1), default=0, help="the seed every random draw derives from (default 0)")


def add_replicates(parser, *, low: int, default: int, what: str, old: str | None = "--seeds") -> None:
    action = parser.add_argument("--replicates", type=count(low, 10_000), default=default, metavar="N", help=f"independent {what}, for standard errors (default {default})")
    if old:
        deprecated(parser, old, action)


#: The figure formats --plot writes, by the file's suffix.
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def figure_file(text: str) -> str:
    """An :func:`output_file` for a figure: its suffix names one of :data:`FIGURE_SUFFIXES` (checked before the work)."""
    if os.path.splitext(text)[1].lower() not in FIGURE_SUFFIXES:
        raise argparse.ArgumentTypeError(f"{text}: a figure is written as {', '.join(s[1:] for s in FIGURE_SUFFIXES)} (give the file that suffix)")
    return output_file(text)


def add_plot(parser, what: str, *, old: str | None = None, option: str = "--plot") -> None:
    action = parser.add_argument(option, metavar="FILE", type=figure_file, help=f"write {what} (png, pdf or svg; the file is named on stdout)")
    if old:
        deprecated(parser, old, action)


def scheduler_of(args) -> str | None:
    """The Dask scheduler a command runs on: ``--scheduler``, else ``$DYNCHECK_SCHEDULER``, else None (this machine)."""
    return args.scheduler or os.environ.get("DYNCHECK_SCHEDULER") or None


def units_here(args, scheduler, batch: int) -> int:
    """How many of a command's ``batch`` units (networks, populations) run on this machine at once: none on a Dask
    cluster, all of them as one batch in this process without ``--jobs`` or ``--store``, else one a local worker."""
    if scheduler:
        return 0
    return batch if (args.jobs or 1) == 1 and not getattr(args, "store", None) else args.jobs or 1


def add_executor(parser, *, store: bool = True, jobs_default: str = "the thread budget, $DYNCHECK_THREADS or the cores") -> None:
    """Where the work runs: --jobs local processes, or a Dask --scheduler; --store DIR to resume (:mod:`dyncheck.numerics.sweep`)."""
    parser.add_argument("--jobs", type=count(1, 256), help=f"local worker processes (default: {jobs_default})")
    parser.add_argument("--scheduler", metavar="ADDRESS", type=_scheduler, help="run on a Dask cluster, e.g. tcp://10.0.0.5:8786 (default: $DYNCHECK_SCHEDULER; pip install 'dyncheck[dask]')")
    if store:
        parser.add_argument("--store", metavar="DIR", type=output_folder, help="keep each finished task in DIR; run again with the same DIR to resume where it stopped")


def _scheduler(text: str) -> str:
    """A Dask scheduler's address (its form; whether it answers is found when the command connects, before any work)."""
    from dyncheck.numerics.sweep import check_scheduler_address

    try:
        return check_scheduler_address(text)
    except UsageError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_json(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


# ---------------------------------------------------------------------------
# Helpers of the commands


def _memory_bytes() -> int:
    """Physical memory of this machine."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 34


def require_memory(needed: float, what: str) -> None:
    """Refuse, before the work, a size whose arrays would not fit in memory (half of it, for the rest)."""
    available = _memory_bytes()
    if needed > available / 2:
        raise UsageError(f"{what} needs {needed / 2**30:.1f} GiB, more than half of this machine's {available / 2**30:.0f} GiB")


def check_backend(args) -> None:
    """The backend and device, before any work: torch installed, CUDA present where asked for."""
    from dyncheck.numerics.backend import ArrayBackend

    ArrayBackend(args.backend, args.device, 0)


def activation_expr(spec: str) -> sp.Expr:
    """A registered activation's expression, or ``spec`` parsed (AST whitelist) as an expression in x alone."""
    from dyncheck.proofs_check.parser import parse_expression
    from dyncheck.theory.activations import ACTIVATIONS, ALIASES, activation
    from dyncheck.theory.symbols import X

    if spec in ACTIVATIONS or spec in ALIASES:
        return activation(spec).expr()
    phi = parse_expression(spec)
    if isinstance(phi, sp.Symbol) and phi != X:  # a bare name: meant as an activation's name
        raise UsageError(f"unknown activation {spec!r}: give a name among {', '.join(sorted(ACTIVATIONS))} (dyncheck list activations), or an expression in x")
    if phi.free_symbols - {X}:
        raise UsageError(f"the activation may depend on x only, not on {', '.join(sorted(map(str, phi.free_symbols - {X})))}")
    if not phi.has(X):
        raise UsageError("the activation is constant: it propagates no signal")
    _check_activation(phi)
    return phi


#: Points where a user's activation must take finite real values (the Gaussian's bulk and far tails).
_ACTIVATION_PROBES = (-1e3, -30.0, -3.0, -1.0, -0.3, 0.0, 0.3, 1.0, 3.0, 30.0, 1e3)


def _check_activation(phi: sp.Expr) -> None:
    """Refuse an activation with poles or complex values where the Gaussian puts mass, with the reason."""
    from dyncheck.theory.activations import kinks
    from dyncheck.theory.symbols import X

    try:
        kinks(phi, X)
    except ValueError as error:
        raise UsageError(f"the activation {phi} has kinks that the quadrature cannot place ({error}): kinks must sit where a linear function of x vanishes") from None
    for x in _ACTIVATION_PROBES:
        value = phi.subs(X, sp.Float(x)).evalf(15)
        if not (value.is_number and value.is_extended_real and value.is_finite):
            raise UsageError(f"the activation {phi} is not a finite real number at x = {x:g}; mean-field theory needs φ real and finite on the whole line")


def theory_for(spec: str):
    """A MeanField for a registered activation name or an expression in x."""
    from dyncheck.theory.meanfield import mean_field

    return mean_field(activation_expr(spec), spec)  # MeanField rejects symbols other than x


def in_main_thread() -> bool:
    """Whether this is the main thread (where signal handlers may be set)."""
    import threading

    return threading.current_thread() is threading.main_thread()


def wrote(*paths) -> None:
    """Name on stdout each file a command wrote (None: nothing written)."""
    for path in paths:
        if path:
            print(f"wrote {path}")


def readable(expr) -> str:
    """A SymPy expression for reading in text output: Greek letters for their names, |x| for Abs(x), π, and a
    piecewise function as "a if condition; …; b otherwise" (JSON keeps ``str``, which SymPy reads back)."""
    from sympy.printing.str import StrPrinter

    class _Readable(StrPrinter):
        _GREEK = {"omega": "ω", "rho": "ρ", "sigma": "σ", "gamma": "γ", "delta": "δ", "theta": "θ", "mu": "μ"}

        def _print_Symbol(self, s):
            return self._GREEK.get(s.name, s.name)

        def _print_Abs(self, e):
            return f"|{self._print(e.args[0])}|"

        def _print_Pi(self, e):
            return "π"

        def _print_Piecewise(self, e):
            parts = [f"{self._print(value)} otherwise" if cond == True else f"{self._print(value)} if {self._print(cond)}" for value, cond in e.args]  # noqa: E712 (SymPy's true)
            return "; ".join(parts)

        def _print_Float(self, f):
            return f"{float(f):.12g}"

    return _Readable().doprint(sp.sympify(expr))


def json_number(value: float):
    """JSON-friendly: NaN → None, ±inf → "inf"/"-inf"."""
    value = float(value)
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value
