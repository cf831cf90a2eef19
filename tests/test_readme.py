"""The README is tested: every ``dyncheck`` command and every Python snippet in it runs, and every number it
shows is the one the command prints.

* A console block's ``$ dyncheck …`` and ``$ python …`` lines are commands (an inline ``# comment`` and
  optional ``[…]`` parts dropped); the lines after one, up to the next ``$``, are its output as the README shows it.  Each shown
  line must appear among the printed ones, in order (a shown ``…`` stands for lines left out).  Words
  must match exactly; numbers to the digits the README prints, or
  to the tolerance :data:`TOLERANCES` gives a command with the reason.  (The digits shown: within half a unit
  of the last, and 1e-12 relative for rounding noise across machines.)  Times are not compared: a
  number followed by the unit ``s``, and the cells of a table column headed ``seconds``.
* A ``python`` block runs as it stands in a fresh namespace (its test functions are called), with one
  substitution: a sweep sent to a Dask cluster's address runs in this process instead.
* Each block runs in a temporary directory of its own (a block's commands in order: one may write the
  file the next reads), with one thread (``DYNCHECK_THREADS=1``); the seeds are the commands' defaults.

Those that take more than a few seconds carry the ``slow`` marker (``pytest -m slow tests/test_readme.py``).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

#: A number as the commands print it (a minus may be U+2212), and a time: a number with the unit s.
NUMBER = re.compile(r"[-−]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
TIME = re.compile(r"[-−]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?= ?m?s\b)")

#: Commands (a prefix of the command line) whose numbers are held to a stated relative tolerance rather than
#: to the printed digits, with the reason.
TOLERANCES: dict[str, tuple[float, str]] = {}

#: Commands (a prefix) and snippets (a phrase in them) that take more than a few seconds.
SLOW = (
    "dyncheck verify",
    "dyncheck train",
    "dyncheck simulate",
    "dyncheck node train",
    "dyncheck kuramoto --density gaussian --sigma 1 --coupling 10 --graphon",
    "dyncheck sgd schedule",
    "dyncheck ntk-depth",
    "train(circle_model",
    "sweep(",
)


@dataclass(frozen=True)
class Command:
    line: int
    text: str
    shown: tuple[str, ...]
    setup: tuple[str, ...] = ()  # the block's earlier ``python`` commands (they write files the next ones read)

    @property
    def argv(self) -> list[str]:
        text = re.sub(r"\s+#\s.*$", "", self.text)  # an inline comment
        text = re.sub(r"\s*\[[^\]]*\]", "", text)  # optional parts
        return shlex.split(text)

    def __str__(self):
        return f"README line {self.line}: {self.text}"


def _blocks(language: str) -> list[tuple[int, str]]:
    text = README.read_text()
    return [(text[: m.start()].count("\n") + 2, m.group(1)) for m in re.finditer(rf"```{language}\n(.*?)```", text, re.S)]


def commands() -> list[Command]:
    out = []
    for first, body in _blocks("console"):
        current, setup = None, ()
        for offset, line in enumerate(body.splitlines()):
            if line.startswith("$ "):
                if current:
                    out.append(Command(*current))
                current = [first + offset, line[2:].strip(), (), setup]
                if current[1].startswith("python "):
                    setup += (current[1],)
            elif current:
                current[2] += (line,)
        if current:
            out.append(Command(*current))
    return out


def _run(text: str) -> subprocess.CompletedProcess:
    argv = Command(0, text, ()).argv
    program = [sys.executable] if argv[0] == "python" else [sys.executable, "-c", "from dyncheck.proofs_check.cli import main; raise SystemExit(main())"]
    assert argv[0] in ("python", "dyncheck"), text
    return subprocess.run([*program, *argv[1:]], capture_output=True, text=True)


def snippets() -> list[tuple[int, str]]:
    return _blocks("python")


def _slow(text: str) -> bool:
    return any(text.startswith(prefix) or (not prefix.startswith("dyncheck") and prefix in text) for prefix in SLOW)


def _parameters(items, text_of):
    return [pytest.param(item, id=f"line{line}", marks=[pytest.mark.slow] if _slow(text_of(item)) else []) for item, line in items]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty directory to work in, and one thread."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DYNCHECK_THREADS", "1")
    return tmp_path


# -- comparing what is shown with what is printed ------------------------------------------------------------


def _cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def _time_columns(header: str) -> set[int]:
    return {k for k, cell in enumerate(_cells(header)) if cell == "seconds"}


def _numbers_agree(shown: str, printed: str, relative: float | None) -> bool:
    a, b = float(shown.replace("−", "-")), float(printed.replace("−", "-"))
    if relative is not None:
        return abs(a - b) <= relative * max(abs(a), abs(b)) or a == b
    mantissa = shown.replace("−", "-").lower().split("e")
    decimals = len(mantissa[0].split(".")[1]) if "." in mantissa[0] else 0
    exponent = int(mantissa[1]) if len(mantissa) > 1 else 0
    return abs(a - b) <= 0.5 * 10.0 ** (exponent - decimals) + 1e-12 * abs(b)  # rounded to the shown digits


def _line_agrees(shown: str, printed: str, relative: float | None, times: set[int]) -> bool:
    if times:
        shown_cells, printed_cells = _cells(shown), _cells(printed)
        if len(shown_cells) != len(printed_cells):
            return False
        return all(k in times or _line_agrees(s, p, relative, set()) for k, (s, p) in enumerate(zip(shown_cells, printed_cells)))
    shown_times, printed_times = (TIME.sub("<time>", x) for x in (shown, printed))
    words = [NUMBER.split(x) for x in (shown_times, printed_times)]
    if [" ".join(w.split()) for w in words[0]] != [" ".join(w.split()) for w in words[1]]:
        return False
    return all(_numbers_agree(s, p, relative) for s, p in zip(NUMBER.findall(shown_times), NUMBER.findall(printed_times)))


def assert_shown_lines_printed(shown: tuple[str, ...], printed: list[str], relative: float | None, where: str) -> None:
    """Each shown line among the printed ones, in order ("…" skips any number of printed lines)."""
    position, times = 0, set()
    for line in shown:
        if line.strip() in ("…", ""):
            continue
        if "seconds" in _cells(line):
            times = _time_columns(line)
        for k in range(position, len(printed)):
            if _line_agrees(line, printed[k], relative, times if "seconds" not in _cells(line) else set()):
                position = k + 1
                break
        else:
            raise AssertionError(f"{where}\nshown:   {line}\nnot printed (from line {position} on):\n" + "\n".join(printed[position:]))


def test_the_comparison_holds_numbers_to_their_printed_digits_and_skips_times():
    printed = ["q_star: 0.418037200533", "derived in 9.87 s; grid in 3 s; written x.png", "method   seconds  loss", "GD   12.5   0.0140429"]
    assert_shown_lines_printed(("q_star: 0.418",), printed, None, "")
    assert_shown_lines_printed(("q_star: 0.41803720053", "derived in 1.23 s; grid in 0.06 s; written x.png"), printed, None, "")
    assert_shown_lines_printed(("method   seconds  loss", "GD   0.40   0.0140429"), printed, None, "")
    for wrong in ("q_star: 0.41803720054", "q_star: 0.4181", "q_star: 0.43", "derived in 1.23 s; grid in 0.06 s; written y.png", "GD   0.40   0.0140428"):
        with pytest.raises(AssertionError):
            assert_shown_lines_printed(("method   seconds  loss", wrong) if wrong.startswith("GD") else (wrong,), printed, None, "")


# -- the README's examples -------------------------------------------------------------------------------------


def test_the_readme_has_examples():
    assert len(commands()) >= 25 and len(snippets()) >= 5


@pytest.mark.parametrize("command", _parameters([(c, c.line) for c in commands()], lambda c: c.text))
def test_readme_command(command: Command, workdir):
    for text in command.setup:
        assert _run(text).returncode == 0, text
    run = _run(command.text)
    assert run.returncode == 0, f"{command}\n{run.stderr}"
    relative = next((tol for prefix, (tol, _) in TOLERANCES.items() if command.text.startswith(prefix)), None)
    assert_shown_lines_printed(command.shown, run.stdout.splitlines(), relative, str(command))


@pytest.mark.parametrize("snippet", _parameters([(s, line) for line, s in snippets()], lambda s: s))
def test_readme_snippet(snippet: str, workdir):
    code = re.sub(r', scheduler="tcp://[^"]*"', "", snippet)  # a cluster's address: this process
    namespace: dict = {"__name__": "readme"}
    exec(compile(code, "README.md", "exec"), namespace)
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value):
            value()
