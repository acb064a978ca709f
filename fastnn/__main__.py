"""The ``fastnn`` command (also ``python -m fastnn``).

    fastnn [--version] [--help]

prints the installed version, or the help (also what a bare ``fastnn`` prints).

    fastnn info [--threads N] [--dtype float32|float64]

prints how the kernels were built, the round trip of a cache line between two
cores and the time of a short training step on one and on two threads (with a
line that reads them), and a quick timing of the compiled kernels (fastnn.ops)
against their NumPy twins (fastnn.reference).

    fastnn bench [--threads N] [--dtype float32|float64|both] [--quick]
                 [--cases SUBSTRING] [--json PATH] [--plot PATH]

times fastnn.ops against fastnn.reference and PyTorch (when importable) on the
cases of fastnn.bench.kernels.BENCH_CASES, all on the same inputs and thread
count, in alternation, and prints median times, GFLOP/s and speed-ups; then
times training (fastnn's fit against a plain NumPy network and PyTorch) on the
cases of fastnn.bench.training.TRAIN_CASES, and fastnn's fit on 1 and 2
threads. The harness is the fastnn.bench package; this module parses the
command line and calls fastnn.bench.run.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import fastnn

from . import bench
from ._text import count
from .bench import BENCH_ENVIRONMENT, FULL, QUICK, TRAIN_ROUNDS
from .bench.kernels import BACKENDS, kernel_competitors, make_args, shape_label
from .bench.report import format_table
from .bench.timing import time_interleaved
from .bench.training import QUICK_FACTOR

# (kernel, size, activation) timed by `fastnn info`: one representative size
# per kernel family from the coursework networks, a few seconds in all.
INFO_CASES = [
    ("linear_forward", (256, 784, 512), None),
    ("linear_backward", (256, 784, 512), None),
    ("batchnorm_forward", (256, 512), None),
    ("batchnorm_backward", (256, 512), None),
    ("activation_forward", (256, 4096), "relu"),
    ("activation_backward", (256, 4096), "relu"),
    ("activation_forward", (256, 4096), "tanh"),
    ("activation_backward", (256, 4096), "tanh"),
    ("softmax_cross_entropy", (256, 1000), None),
]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake shows the full help, not just the usage line."""

    def error(self, message):
        self.print_help(sys.stderr)
        self.exit(2, f"\n{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def version() -> str:
    """The installed distribution's version, or ``fastnn.__version__`` when run from a source tree.

    Returns
    -------
    str
        The version of the installed ``fastnn-mlp`` distribution
        (:func:`importlib.metadata.version`), or ``fastnn.__version__`` when
        fastnn is imported from a source tree that was not installed.
    """
    from importlib import metadata

    try:
        return metadata.version("fastnn-mlp")
    except metadata.PackageNotFoundError:
        return fastnn.__version__


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fastnn", description="fastnn: a multilayer-perceptron engine with C kernels.",
                     epilog="Run 'fastnn COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"fastnn {version()}",
                        help="print fastnn's version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = commands.add_parser(
        "info",
        help="show how the kernels were built, probe the threads and time the kernels against NumPy",
        description="Print build_info(), the round trip of a cache line between two cores and a short "
        "training step's time on 1 and 2 threads (fastnn.diagnostics probes), and a quick timing of "
        "fastnn.ops against fastnn.reference (NumPy).",
    )
    info.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help="OpenMP threads for fastnn's kernels (default: OMP_NUM_THREADS or all cores); "
        "NumPy's BLAS keeps its own setting",
    )
    info.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="(default: float32)")

    bench = commands.add_parser(
        "bench",
        help="time fastnn against NumPy and PyTorch on the benchmark cases",
        description="Time fastnn.ops (c) against fastnn.reference (numpy) and PyTorch (torch, when importable) "
        "in one process, on the same inputs and thread count, in alternation, and print median times, "
        "GFLOP/s of the matrix products and speed-ups (other's time / fastnn's time). "
        "fwd+bwd cases time a forward and a backward pass per call; what each competitor computes "
        "is described in fastnn/bench/kernels.py. The training cases ('--cases train') time epochs or whole runs of "
        "fastnn's fit against a plain NumPy network and PyTorch (fastnn/bench/training.py), and fastnn's fit "
        "on 1 and 2 threads. A time it cannot trust (samples spread widely, or the library ran far above its "
        "quiet floor while another process held a core) is measured again and, if still untrusted, marked *; "
        "each dtype's heading says how many cases were marked.",
    )
    bench.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help="threads for every competitor: fastnn, torch.set_num_threads and NumPy's BLAS (the last "
        "through threadpoolctl, when installed) (default: fastnn's current count)",
    )
    bench.add_argument("--dtype", choices=["float32", "float64", "both"], default="both", help="(default: both)")
    bench.add_argument("--quick", action="store_true",
                       help=f"every case, fewer rounds: about {QUICK[0]} s and at least {QUICK[1]} rounds per case; "
                       f"training cases: {TRAIN_ROUNDS[1]} rounds on "
                       f"{QUICK_FACTOR}x fewer samples (per-epoch cases) or epochs (whole runs)")
    bench.add_argument("--seconds", type=_non_negative_float, metavar="S",
                       help=f"about how long to time each kernel case in each dtype (default {FULL[0]}, {QUICK[0]} "
                       "with --quick; training cases run a fixed number of rounds, see --rounds)")
    bench.add_argument("--rounds", type=_positive_int, metavar="R",
                       help=f"at least this many rounds per case (default {FULL[1]}, {QUICK[1]} with --quick); "
                       f"exactly this many for the training cases "
                       f"(default {TRAIN_ROUNDS[0]}, {TRAIN_ROUNDS[1]} with --quick)")
    bench.add_argument("--cases", metavar="SUBSTRING",
                       help="only the cases whose name contains SUBSTRING (case-insensitive), e.g. 'batchnorm' "
                       "or 'linear_forward 100x3072'; a full case name selects that case alone")
    bench.add_argument("--json", metavar="PATH", help="write every number, the machine and the versions as JSON")
    bench.add_argument("--plot", metavar="PATH", help="draw the speed-ups and the scaling table (needs matplotlib)")
    return parser


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _print_build_info() -> None:
    info = fastnn.build_info()
    width = max(len(key) for key in info) + 1
    print("Build (fastnn.build_info())")
    for key, value in info.items():
        if isinstance(value, (list, tuple)):
            value = ", ".join(value)
        print(f"  {key + ':':<{width}}  {value}")


def _print_timings(dtype: str) -> None:
    names = list(BACKENDS)  # competitors in table order; the first is the one the others are compared to
    subject, others = names[0], names[1:]
    print()
    print(f"Timing ({dtype}, {count(fastnn.get_num_threads(), 'fastnn thread')}, NumPy {np.__version__})")
    print(f"  median time per call in microseconds; {' and '.join(names)} runs alternate in one process")
    for other in others:
        print(f"  speed-up vs {other} = {other} time / {subject} time (above 1: {subject} is faster)")
    print(flush=True)  # the measurements take a few seconds; show the heading meanwhile

    headers = ["kernel", "size", *(f"{name} (µs)" for name in names), *(f"speed-up vs {o}" for o in others)]
    rows = []
    for op, shape, activation in INFO_CASES:
        args = make_args(op, shape, dtype, activation=activation)
        seconds = time_interleaved(kernel_competitors(op, args))
        label = f"{op}({activation})" if activation else op
        rows.append([
            label,
            shape_label(op, shape),
            *(f"{seconds[name] * 1e6:.1f}" for name in names),
            *(f"{seconds[o] / seconds[subject]:.2f}x" for o in others),
        ])
    print(format_table(headers, rows, left_columns=2))


# the probes' sizes: a fraction of a second in all
PROBE_RUNS, PROBE_TRIPS = 9, 2000
PROBE_ROUNDS, PROBE_STEPS = 5, 8


def _print_probes() -> None:
    from . import diagnostics

    print()
    print("Threads (fastnn.diagnostics probes)")
    cpus = diagnostics.allowed_cpus()
    trip = diagnostics.probe_round_trip(PROBE_RUNS, PROBE_TRIPS)
    if trip is None:
        print(f"  round trip of a cache line between two cores: not measured, {cpus} CPU available")
    else:
        print(f"  round trip of a cache line between two cores: {trip:.0f} ns "
              f"(two pinned threads, median of {PROBE_RUNS} runs)")
    counts = (1, 2) if trip is not None else (1,)
    times = diagnostics.probe_step_times(counts, rounds=PROBE_ROUNDS, steps=PROBE_STEPS)
    network = ", ".join(map(str, diagnostics.PROBE_SIZES))
    per = ", ".join(f"{t} thread{'s' if t > 1 else ''} {times[t] * 1e3:.2f} ms" for t in counts)
    print(f"  training step of [{network}] bn float32 B={diagnostics.PROBE_BATCH}: {per} "
          f"(median of {PROBE_ROUNDS * PROBE_STEPS} steps, thread counts alternating)")
    print(f"  {diagnostics.interpret_probes(trip, times)}", flush=True)


def _info(args: argparse.Namespace) -> int:
    if args.threads is not None:
        fastnn.set_num_threads(args.threads)
    _print_build_info()
    _print_probes()
    _print_timings(args.dtype)
    return 0


def _bench_command(args: argparse.Namespace) -> int:
    return bench.run(cases=args.cases, dtype=args.dtype, quick=args.quick, seconds=args.seconds,
                     rounds=args.rounds, threads=args.threads, json_path=args.json, plot_path=args.plot)


def _bench_environment_missing() -> dict:
    return {k: v for k, v in BENCH_ENVIRONMENT.items() if k not in os.environ}


def _rerun_with_bench_environment(missing: dict) -> int:
    """Run this command again in a child with ``missing`` set: the thread pools read
    these variables once, when they are loaded, and NumPy's already is."""
    import subprocess

    # -P (Python >= 3.11): do not put the working directory on sys.path, so a
    # checkout's source tree does not shadow the installed package.
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    return subprocess.call([sys.executable, *safe_path, "-m", "fastnn", *sys.argv[1:]],
                           env={**os.environ, **missing})


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        # argparse exits on --help (0) and on usage errors (2, help already shown);
        # return the code instead, so main() can be called from Python.
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.command == "info":
        return _info(args)
    if args.command == "bench":
        missing = _bench_environment_missing()
        if argv is None and missing:  # the command line, not main([...]) called from Python
            try:
                return _rerun_with_bench_environment(missing)
            except KeyboardInterrupt:
                return 130
        return _bench_command(args)
    # A bare `fastnn` asks what the command does: the help, on stdout, and success (as pip does).
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
