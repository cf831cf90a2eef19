import json
import signal
import sys

import pytest

from dyncheck.proofs_check.cli import main
from dyncheck.proofs_check.commands.common import Commands


def test_check_exit_codes(capsys):
    assert main(["check", "E(relu(sqrt(q)*z)**2, z)", "q/2", "--assume", "q>0"]) == 0
    assert main(["check", "E(relu(sqrt(q)*z)**2, z)", "q/2 + 1e-8*q", "--assume", "q>0"]) == 1
    assert main(["check", "log(-1 - q**2) + 1/(q - q)", "0", "--assume", "q>0", "--points", "0"]) == 3  # inconclusive
    capsys.readouterr()
    assert main(["check", "__import__('os')", "1"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "unknown function" in err


def test_check_json_is_strict_json_even_for_a_divergence(capsys):
    assert main(["check", "E(exp(q*z**2), z)", "1/sqrt(1 - 2*q)", "--assume", "q > 0", "--json"]) == 1

    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    out = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert out["counterexample"]["lhs"] == "diverges" and out["counterexample"]["relative_difference"] == "inf"


def test_expressions_that_start_with_a_minus_sign(capsys):
    assert main(["check", "--", "-q", "-q"]) == 0
    assert main(["check", "--assume=-1<rho<1", "--", "-rho**2", "-(rho**2)"]) == 0
    assert "proved" in capsys.readouterr().out


@pytest.fixture
def inputs(tmp_path):
    import numpy as np

    good = tmp_path / "x.npy"
    np.save(good, np.ones((3, 2)))
    np.savez(tmp_path / "x.npz", x=np.ones((3, 2)))
    np.save(tmp_path / "complex.npy", np.ones((3, 2)) * 1j)
    return tmp_path


_KERNEL = ["kernel", "--phi", "erf", "--sw2", "1", "--sb2", "0.1", "--depth", "2"]
_MSA = ["train", "msa", "--iterations", "1", "--baseline-iterations", "1"]


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "E(relu(z), z)", "0", "--assume", "z > 0"],  # an assumption on an integrated variable
        ["gauss", "z**2", "--positive", "z"],
        ["gauss", "erf(u)*erf(v)"],  # a pair without --bivariate: not a constant in z
        ["check", "q", "q", "--assume", "1 < q < 1"],  # an empty domain
        ["check", "e", "1"],
        ["check", "(((((3**64)**64)**64)**64)**64)**64", "1"],
        ["check", "monomial(3, 10**30)", "1"],
        ["check", "E(E(z, z), z)", "0"],
        ["check", "q", "q", "--points", "100000000"],
        [*_KERNEL, "--inputs", "{tmp}/x.npy", "--output", "{tmp}/k.npz", "--depth", "1000000000"],
        [*_KERNEL, "--inputs", "{tmp}/x.npz", "--output", "{tmp}/k.npz"],
        [*_KERNEL, "--inputs", "/dev/null", "--output", "{tmp}/k.npz"],
        [*_KERNEL, "--inputs", "{tmp}/complex.npy", "--output", "{tmp}/k.npz"],
        [*_KERNEL, "--inputs", "{tmp}/x.npy", "--output", "{tmp}/missing/k.npz"],
        ["kernel", "--phi", "erf", "--sw2", "nan", "--sb2", "0.1", "--depth", "2", "--inputs", "{tmp}/x.npy", "--output", "{tmp}/k.npz"],
        ["kernel", "--phi", "erf", "--sw2", "1", "--sb2", "inf", "--depth", "2", "--inputs", "{tmp}/x.npy", "--output", "{tmp}/k.npz"],
        [*_KERNEL, "--inputs", "{tmp}/x.npy", "--output", "{tmp}/k.npz", "--backend", "torch", "--device", "bogus"],
        ["ntk-depth", "--phi", "erf", "--sw2", "1", "--depth", "100000000"],
        ["phase-diagram", "--phi", "erf", "--grid", "1", "--plot", "{tmp}/p.png"],
        ["phase-diagram", "--phi", "erf", "--plot", "/nonexistent/p.png"],
        ["meanfield", "--phi", "1/x", "--sw2", "1", "--sb2", "0.1"],
        ["meanfield", "--phi", "log(x)", "--sw2", "1", "--sb2", "0.1"],
        ["meanfield", "--phi", "exp(x**2)", "--sw2", "1", "--sb2", "0.05"],
        ["meanfield", "--phi", "3", "--sw2", "1", "--sb2", "0.05"],
        ["meanfield", "--phi", "Abs(sin(x))", "--sw2", "1", "--sb2", "0.05"],  # kinks at every multiple of π
        ["meanfield", "--phi", "tanh", "--sw2", "1", "--sb2", "1e6"],  # q* beyond the validated range (found by the fuzz)
        ["simulate", "meanfield", "--phi", "tanh", "--sw2", "1", "--sb2", "0.1", "--c0", "2"],
        ["simulate", "meanfield", "--phi", "tanh", "--sw2", "1", "--sb2", "0.1", "--q0", "nan"],
        ["simulate", "kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "1", "--oscillators", "10", "--time", "inf"],
        ["kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "inf"],
        ["kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "nan"],
        [*_MSA, "--rho", "nan"],
        [*_MSA, "--inner", "0"],
        [*_MSA, "--gd-lr", "-1"],
        [*_MSA, "--adam-lr", "inf"],
        ["verify", "--report", "/proc/dyncheck-report"],
        ["verify", "--jobs", "0"],
        ["verify", "--only", "nonexistent"],
    ],
)
def test_bad_input_exits_2_with_one_line_before_any_work(argv, inputs, capsys):
    argv = [a.replace("{tmp}", str(inputs)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("dyncheck: error:") and err.strip().count("\n") == 0, err


def test_meanfield_finds_every_fixed_point(capsys):
    assert main(["meanfield", "--phi", "x**3", "--sw2", "0.5", "--sb2", "0.01", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["q_star"] == pytest.approx(0.0100075, rel=1e-5) and out["phase"] == "ordered"
    stable = [p["stable"] for p in out["fixed_points"]]
    assert stable == [True, False]


def test_check_json_keys(capsys):
    main(["check", "E(erf(sqrt(q)*z)**2, z)", "2/pi*asin(2*q/(1+2*q))", "--assume", "q>0", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert {"verdict", "lhs", "rhs", "reason", "derived_lhs", "derived_rhs", "assumptions", "points_checked",
            "max_relative_difference", "counterexample", "provenance"} <= set(out)


def test_gauss_json(capsys):
    assert main(["gauss", "relu(u)*relu(v)", "--bivariate", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rule"] == "price" and "asin" in out["closed_form"]


def test_gauss_none(capsys):
    assert main(["gauss", "sigmoid(sqrt(q)*z)**2"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.endswith("quadrature evaluates it)") and " = " not in header  # no closed form, or undecided
    assert main(["gauss", "tanh(z)**2"]) == 0  # every rule declines: no closed form, not a budget run out
    assert capsys.readouterr().out.splitlines()[0] == "E(tanh(z)**2, z): no closed form (quadrature evaluates it)"


def test_verify_subset_writes_report(tmp_path, capsys):
    assert main(["verify", "--only", "gaussian.relu_variance", "--report", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] and data["claims"][0]["negative_control"]["verdict"] == "refuted"
    assert (tmp_path / "report.md").exists() and (tmp_path / "monte_carlo_rates.png").exists()


def test_verify_prints_each_row_as_it_comes_then_the_summary_then_the_files(tmp_path, capsys):
    assert main(["verify", "--only", "gaussian.relu_v*", "--report", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["claim", "verdict", "control", "time"] and lines[2].startswith("gaussian.relu_variance  proved")
    assert lines[-2] == "1 proved; negative controls refuted: 1/1" and lines[-1].startswith(f"report: {tmp_path}")


def test_bad_arguments_exit_2():
    assert main(["verify", "--profile", "huge"]) == 2


def test_kuramoto_theory_json(capsys):
    assert main(["kuramoto", "--density", "lorentzian", "--gamma", "0.5", "--coupling", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["K_c"] == pytest.approx(1.0, rel=1e-14) and out["r_inf"] == pytest.approx(2**-0.5, rel=1e-12)
    assert main(["kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "2", "--graph", "erdos-renyi", "--edge-probability", "0.3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["K_c"] == pytest.approx((8 / 3.141592653589793) ** 0.5 / 0.3, rel=1e-14) and out["r_inf"] == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["kuramoto", "--density", "gaussian", "--coupling", "2"],  # no σ
        ["kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "-1"],
        ["kuramoto", "--density", "gaussian", "--sigma", "-1", "--coupling", "1"],
        ["kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "1", "--graph", "ring"],  # no range
        ["simulate", "kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "1", "--oscillators", "1"],
        ["simulate", "kuramoto", "--density", "gaussian", "--sigma", "1", "--oscillators", "100"],  # neither K nor a sweep
        ["simulate", "kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "1", "--oscillators", "100", "--graph", "erdos-renyi", "--edge-probability", "0.001", "--normalisation", "degree"],
    ],
)
def test_kuramoto_bad_input_exits_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("dyncheck: error:") and err.strip().count("\n") == 0


def test_simulate_kuramoto(tmp_path, capsys):
    plot = tmp_path / "r.png"
    argv = ["simulate", "kuramoto", "--density", "lorentzian", "--gamma", "0.5", "--coupling", "3", "--oscillators", "2000", "--time", "30", "--step", "0.1"]
    assert main([*argv, "--replicates", "2", "--json", "--plot", str(plot)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["r_mean"][0] - (2 / 3) ** 0.5) <= 1 / 2000**0.5 and plot.stat().st_size > 0
    sweep = tmp_path / "sweep.png"
    assert main([*argv[:-8], "--oscillators", "500", "--sweep", "0.5", "3", "3", "--time", "20", "--step", "0.1", "--plot", str(sweep)]) == 0
    assert main([*argv, "--sweep", "0.5", "3", "3"]) == 2  # a coupling and a sweep: one of them, not both
    assert "r∞ theory" in capsys.readouterr().out and sweep.stat().st_size > 0


def test_simulate_kuramoto_adaptive_matches_rk4(capsys):
    argv = ["simulate", "kuramoto", "--density", "gaussian", "--sigma", "1", "--coupling", "3", "--oscillators", "200", "--time", "20", "--step", "0.05", "--json"]
    assert main([*argv, "--method", "dop853"]) == 0
    adaptive = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    rk4 = json.loads(capsys.readouterr().out)
    assert abs(adaptive["r_mean"][0] - rk4["r_mean"][0]) < 1e-6


def test_report_plots_finite_system_rates_and_links_the_plot_only_when_drawn(tmp_path):
    from dyncheck.proofs_check.claim import PROFILES, ClaimResult
    from dyncheck.proofs_check.report import write_report
    from dyncheck.proofs_check.verdicts import AGREE, EXACT, PROVED, REFUTED, VERIFIED, Evidence

    def result(claim_id, verdict, evidence):
        return ClaimResult(claim_id, "source", "x = x", verdict, "reason", evidence, REFUTED, "control", [], 0.1)

    rates = {"rate_sizes": [64.0, 256.0, 1024.0], "rate_rms": [0.1, 0.05, 0.025], "rate_slope": -0.5}
    proved = result("kernels.exact", PROVED, [Evidence("symbolic", EXACT, "0", {})])
    paths = write_report([proved], PROFILES["quick"], tmp_path / "without")
    assert [p.name for p in paths] == ["report.json", "report.md"]
    assert "monte_carlo_rates.png" not in paths[1].read_text()
    simulated = result("kernels.width", VERIFIED, [Evidence("empirical-backprop", AGREE, "|z| = 0.1", rates)])
    paths = write_report([proved, simulated], PROFILES["quick"], tmp_path / "with")
    assert paths[-1].name == "monte_carlo_rates.png" and paths[-1].stat().st_size > 0
    assert "(monte_carlo_rates.png)" in paths[1].read_text()


# ---------------------------------------------------------------------------
# The command line a newcomer meets


def _commands():
    """Every (words, parser) of the command line, groups included."""
    import argparse

    from dyncheck.proofs_check.cli import build_parser

    def walk(parser, words):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(sub, [*words, name])
        if words:
            yield words, parser

    return list(walk(build_parser(), []))


def test_bare_dyncheck_shows_the_usage_and_where_to_look(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: dyncheck") and "dyncheck --help" in err


def test_version(capsys):
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"dyncheck {version('dyncheck')}"


def test_every_option_has_help_and_every_command_examples_that_parse(tmp_path, monkeypatch):
    import shlex

    monkeypatch.chdir(tmp_path)  # output folders of the examples are made as they are parsed
    from dyncheck.proofs_check.cli import build_parser

    parser = build_parser()
    commands = _commands()
    assert {" ".join(w) for w, _ in commands} >= {"verify", "list", "check", "gauss", "meanfield", "boundary", "phase-diagram", "kernel",
                                                   "ntk-depth", "kuramoto", "simulate meanfield", "simulate kuramoto", "train msa", "train linearized"}
    for words, sub in commands:
        for action in sub._actions:
            if action.help != "==SUPPRESS==":
                assert action.help, f"dyncheck {' '.join(words)}: {action.option_strings or action.dest} has no help"
        if len(words) == 1 and words[0] in Commands._GROUPS:  # a group: its commands carry the examples
            continue
        examples = [line.strip() for line in (sub.epilog or "").splitlines() if line.strip().startswith("dyncheck ")]
        assert examples, f"dyncheck {' '.join(words)} --help shows no example"
        for example in examples:
            argv = shlex.split(example.split("  (")[0])[1:]
            parser.parse_args(argv)  # exits (and fails the test) on an option the command does not know


def test_the_vocabulary_is_one(capsys):
    """Each option name means one thing: outputs are --plot (figures), --output (data) or --report (a folder);
    repetition is --replicates; no capitals or single letters; σ_b² defaults to the same value wherever optional."""
    from dyncheck.proofs_check.commands.common import SB2_DEFAULT

    for words, sub in _commands():
        for action in sub._actions:
            if action.help == "==SUPPRESS==":
                continue
            for option in action.option_strings:
                if option in ("-h",):
                    continue
                assert option.startswith("--") and option[2:] == option[2:].lower() and len(option) > 3, option
                assert option not in ("--out", "--seeds", "--layers", "--spectrum"), f"{words}: {option}"
            if "--sb2" in action.option_strings and not action.required and action.default is not None:
                assert action.default == SB2_DEFAULT


def test_old_spellings_still_work_and_say_so(capsys):
    assert main(["kuramoto", "--g", "lorentzian", "--gamma", "0.5", "--K", "2", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["K"] == 2.0
    assert captured.err.count("deprecated") == 2 and "write --density" in captured.err and "write --coupling" in captured.err
    assert main(["kuramoto", "--density", "lorentzian", "--gamma", "0.5"]) == 2  # the coupling is still required
    assert "required: --coupling" in capsys.readouterr().err


def test_list_activations_and_claims(capsys):
    assert main(["list", "activations", "--json"]) == 0
    names = {row["name"] for row in json.loads(capsys.readouterr().out)}
    assert {"relu", "tanh", "erf"} <= names
    assert main(["list", "claims", "--only", "kuramoto", "--json"]) == 0
    ids = [row["id"] for row in json.loads(capsys.readouterr().out)]
    assert ids and all(i.startswith("kuramoto.") for i in ids)
    assert main(["list", "claims", "--only", "nothing-like-this"]) == 2


def test_a_reader_that_stops_early_gets_no_traceback():
    """`dyncheck … | head -1`: the command ends quietly with the status SIGPIPE would give (141).  The child writes
    to a pipe whose reading end is already closed, so every write fails: no race with a reader."""
    import subprocess
    import sys

    code = (
        "import os, sys\n"
        "read, write = os.pipe(); os.close(read); os.dup2(write, 1)\n"
        "from dyncheck.proofs_check.cli import main\n"
        "sys.exit(main(['list', 'claims']))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 141 and run.stderr == ""


def test_piped_output_is_written_line_by_line():
    # a process that ends without flushing (os._exit) has written every printed line only if stdout is line-buffered
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    code = "import os; from dyncheck.proofs_check.cli import main; main(['list', 'activations']); os._exit(0)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120).stdout
    assert "tanh" in out


def test_verify_without_torch_says_what_it_skipped_and_passes_on_the_rest(monkeypatch, capsys):
    """torch hidden: the routes that need it are undecided, never an error; a claim whose control only they could
    refute does not fail the run, and the summary names each claim and the routes it ran without."""
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    assert main(["verify", "--only", "gradient_descent.edge_of_stability"]) == 0
    out = capsys.readouterr().out
    assert "torch is not installed: 1 claim(s)" in out
    assert "gradient_descent.edge_of_stability: inconclusive without substrate-lanczos, torch-dense" in out
    assert main(["verify", "--only", "kernels.erf_nngp", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] and data["claims"][0]["error"] is None
    assert list(data["skipped_without_torch"]) == ["kernels.erf_nngp"]


def test_a_description_keeps_its_greek_lower_case(capsys):
    assert main(["phase-diagram", "--help"]) == 0
    out = capsys.readouterr().out
    assert "χ₁ and ξ_c over a" in out and "Χ₁" not in out


def test_a_second_interrupt_while_the_first_is_handled_is_recorded_and_a_third_ends_the_run():
    from dyncheck.proofs_check import cli

    cli._interrupts.clear()
    try:
        with pytest.raises(KeyboardInterrupt):
            cli._interrupt(signal.SIGTERM, None)
        cli._interrupt(signal.SIGINT, None)  # the first one's clean-up is not cut short
        for _ in range(2):
            with pytest.raises(KeyboardInterrupt):
                cli._interrupt(signal.SIGINT, None)
        assert cli._interrupts == [signal.SIGTERM] + [signal.SIGINT] * 3
    finally:
        cli._interrupts.clear()
