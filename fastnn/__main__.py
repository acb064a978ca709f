"""The ``fastnn`` command (also ``python -m fastnn``).

    fastnn info [--threads N] [--dtype float32|float64]

prints how the kernels were built and a quick timing of the compiled kernels
(fastnn.ops) against their NumPy twins (fastnn.reference).

    fastnn bench [--threads N] [--dtype float32|float64|both] [--quick]
                 [--cases SUBSTRING] [--json PATH] [--plot PATH]

times fastnn.ops against fastnn.reference and PyTorch (when importable) on the
cases of fastnn._bench.BENCH_CASES, all on the same inputs and thread count,
in alternation, and prints median times, GFLOP/s and speed-ups; then times
training (fastnn's fit against a plain NumPy network and PyTorch) on the cases
of fastnn._bench_train.TRAIN_CASES, and fastnn's fit on 1 and 2 threads.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

import fastnn

from . import _bench, _bench_train

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


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fastnn", description="fastnn: a multilayer-perceptron engine with C kernels.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = commands.add_parser(
        "info",
        help="show how the kernels were built and time them against NumPy",
        description="Print build_info() and a quick timing of fastnn.ops against fastnn.reference (NumPy).",
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
        "is described in fastnn/_bench.py. The training cases ('--cases train') time epochs or whole runs of "
        "fastnn's fit against a plain NumPy network and PyTorch (fastnn/_bench_train.py), and fastnn's fit "
        "on 1 and 2 threads.",
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
                       help=f"every case, fewer rounds: about {QUICK[0]} s and at least {QUICK[1]} rounds per case "
                       f"(the whole run in well under a minute); training cases: {TRAIN_ROUNDS[1]} rounds on "
                       f"{_bench_train.QUICK_FACTOR}x fewer samples (per-epoch cases) or epochs (whole runs)")
    bench.add_argument("--seconds", type=_non_negative_float, metavar="S",
                       help=f"about how long to time each kernel case in each dtype (default {FULL[0]}, {QUICK[0]} "
                       "with --quick; training cases run a fixed number of rounds, see --rounds)")
    bench.add_argument("--rounds", type=_positive_int, metavar="R",
                       help=f"at least this many rounds per case (default {FULL[1]}, {QUICK[1]} with --quick); "
                       f"exactly this many for the training cases (default {TRAIN_ROUNDS[0]}, {TRAIN_ROUNDS[1]} with --quick)")
    bench.add_argument("--cases", metavar="SUBSTRING",
                       help="only the cases whose name contains SUBSTRING (case-insensitive), e.g. 'batchnorm' "
                       "or 'linear_forward 100x3072'; a full case name selects that case alone")
    bench.add_argument("--json", metavar="PATH", help="write every number, the machine and the versions as JSON")
    bench.add_argument("--plot", metavar="PATH", help="draw the speed-ups and the scaling table (needs matplotlib)")
    return parser


# (seconds per case, minimum rounds) of a full and of a --quick run
FULL = (1.0, 20)
QUICK = (0.1, 5)
# rounds of the training cases (each after one untimed run) in a full and a --quick run;
# --quick also trains on a tenth of the samples (per-epoch cases) or of the epochs (whole runs)
TRAIN_ROUNDS = (5, 3)


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
    names = list(_bench.BACKENDS)  # competitors in table order; the first is the one the others are compared to
    subject, others = names[0], names[1:]
    print()
    print(f"Timing ({dtype}, {fastnn.get_num_threads()} fastnn threads, NumPy {np.__version__})")
    print(f"  median time per call in microseconds; {' and '.join(names)} runs alternate in one process")
    for other in others:
        print(f"  speed-up vs {other} = {other} time / {subject} time (above 1: {subject} is faster)")
    print(flush=True)  # the measurements take a few seconds; show the heading meanwhile

    headers = ["kernel", "size", *(f"{name} (µs)" for name in names), *(f"speed-up vs {o}" for o in others)]
    rows = []
    for op, shape, activation in INFO_CASES:
        args = _bench.make_args(op, shape, dtype, activation=activation)
        seconds = _bench.time_interleaved(_bench.kernel_competitors(op, args))
        label = f"{op}({activation})" if activation else op
        rows.append([
            label,
            _bench.shape_label(op, shape),
            *(f"{seconds[name] * 1e6:.1f}" for name in names),
            *(f"{seconds[o] / seconds[subject]:.2f}x" for o in others),
        ])
    print(_bench.format_table(headers, rows, left_columns=2))


def _info(args: argparse.Namespace) -> int:
    if args.threads is not None:
        fastnn.set_num_threads(args.threads)
    _print_build_info()
    _print_timings(args.dtype)
    return 0


def _fail(message: str, code: int) -> int:
    print(f"fastnn bench: error: {message}", file=sys.stderr)
    return code


def _check_output_path(option: str, path: str) -> str | None:
    """Why ``path`` cannot be written (checked before the timings, not after), or None."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"{option} {path}: the folder {folder} does not exist"
    if os.path.isdir(path):
        return f"{option} {path}: is a folder, expected a file name"
    return None


def _bench_command(args: argparse.Namespace) -> int:
    all_cases = [*_bench.BENCH_CASES, *_bench_train.TRAIN_CASES]
    cases = all_cases
    if args.cases is not None:
        wanted = args.cases.lower()
        # A full name selects that case alone ("... 256x10" is also in "... 256x1000").
        exact = [c for c in cases if c.name.lower() == wanted]
        cases = exact or [c for c in cases if wanted in c.name.lower()]
        if not cases:
            names = "\n  ".join(c.name for c in all_cases)
            return _fail(f"no case name contains {args.cases!r}; the cases are:\n  {names}", 2)
    for option, path in (("--json", args.json), ("--plot", args.plot)):
        problem = path is not None and _check_output_path(option, path)
        if problem:
            return _fail(problem, 2)
    if args.plot is not None:
        try:
            import matplotlib  # noqa: F401  (checked now: failing after the timings would waste them)
        except ImportError:
            return _fail("--plot needs matplotlib, which is not installed (pip install matplotlib); "
                         "run without --plot, or with --json to keep the numbers", 1)

    seconds, rounds = QUICK if args.quick else FULL
    seconds = seconds if args.seconds is None else args.seconds
    rounds = rounds if args.rounds is None else args.rounds
    train_rounds = TRAIN_ROUNDS[1 if args.quick else 0] if args.rounds is None else args.rounds
    if args.quick:
        cases = [c.quick() if isinstance(c, _bench_train.TrainCase) else c for c in cases]
    dtypes = ["float32", "float64"] if args.dtype == "both" else [args.dtype]

    torch = _bench.import_torch()
    threads = args.threads if args.threads is not None else fastnn.get_num_threads()
    # Same thread count for every competitor; put back afterwards, since main()
    # may be called from a Python session that has its own settings.
    fastnn_before = fastnn.get_num_threads()
    torch_before = None if torch is None else torch.get_num_threads()
    fastnn.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    blas_limit = _bench.limit_blas_threads(threads)
    try:
        threads_used = {
            "fastnn": fastnn.get_num_threads(),
            "torch": None if torch is None else torch.get_num_threads(),
            "numpy_blas": _bench.blas_threads(),
        }
        build = fastnn.build_info()  # now, while max_threads is the count in use
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        training = any(isinstance(c, _bench_train.TrainCase) for c in cases)
        kernels = not all(isinstance(c, _bench_train.TrainCase) for c in cases)
        _print_bench_heading(threads_used, torch, seconds if kernels else None, rounds, load,
                             train_rounds if training else None, args.quick)
        results = []
        for dtype in dtypes:
            rows = [_bench_train.run_train_case(case, dtype, train_rounds) if isinstance(case, _bench_train.TrainCase)
                    else _bench.run_case(case, dtype, seconds, rounds) for case in cases]
            results.extend(rows)
            _print_results(dtype, rows)
    except KeyboardInterrupt:
        print("\nfastnn bench: interrupted", file=sys.stderr)
        return 130
    finally:
        if blas_limit is not None:
            blas_limit.restore_original_limits()
        fastnn.set_num_threads(fastnn_before)
        if torch is not None:
            torch.set_num_threads(torch_before)

    if args.json is not None:
        record = {
            "command": "fastnn bench",
            "settings": {"quick": args.quick, "seconds_per_case": seconds, "min_rounds": rounds,
                         "training_rounds": train_rounds, "dtypes": dtypes, "cases_filter": args.cases},
            "threads": threads_used,
            "thread_pool_environment": {k: os.environ.get(k) for k in BENCH_ENVIRONMENT},
            "load_average_at_start": load,
            "build": build,
            "cpu": _bench.cpu_facts(),
            "versions": _bench.versions(torch),
            "backends": {"c": "fastnn.ops", "numpy": "fastnn.reference",
                         **({"torch": "torch.nn.functional + autograd"} if torch is not None else {})},
            "training_backends": {"c": "fastnn.MLP(...).fit", "numpy": "fastnn._bench_train.PlainMLP",
                                  "c1": "fastnn.MLP(...).fit on 1 thread (the threads case; its c has 2)",
                                  **({"torch": "torch.nn.Sequential + torch.optim"} if torch is not None else {})},
            "fused_dense_forward": _bench.has_fused_dense(),
            "results": [r.as_dict() for r in results],
        }
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)
        print(f"\nwrote {args.json}")
    if args.plot is not None:
        _bench.plot_results(results, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _print_bench_heading(threads: dict, torch, seconds: float | None, rounds: int, load: float | None,
                         train_rounds: int | None = None, quick: bool = False) -> None:
    info = fastnn.build_info()
    blas = threads["numpy_blas"]
    print(f"fastnn {fastnn.__version__} bench: GEMM kernel {info['simd']}, OpenMP {'on' if info['openmp'] else 'off'}")
    print(f"  NumPy {np.__version__}, " + (f"PyTorch {torch.__version__}" if torch is not None
                                              else "PyTorch not importable: no torch column"))
    print(f"  threads: fastnn {threads['fastnn']}"
          + ("" if torch is None else f", torch {threads['torch']}")
          + (f", NumPy BLAS {blas}" if blas is not None
             else ", NumPy BLAS its own default (install threadpoolctl to set and report it)"))
    if seconds is not None:  # None: no kernel case selected
        print(f"  median time per call in µs over >= {rounds} interleaved rounds (about {seconds:g} s per case);")
        print("  GFLOP/s for the matrix products (2 per multiply-add)")
    print("  numpy/c and torch/c = their time / fastnn's time (above 1: fastnn is faster)")
    if train_rounds is not None:
        print(f"  training: ms per epoch (or per whole run of E epochs) of fit, a plain NumPy MLP and PyTorch, "
              f"median of {train_rounds} interleaved rounds after one untimed run each"
              + (f"; --quick: {_bench_train.QUICK_FACTOR}x fewer samples (per-epoch cases) or epochs (runs)"
                 if quick else ""))
    pools = ", ".join(f"{k}={os.environ.get(k, 'unset (library default)')}" for k in BENCH_ENVIRONMENT)
    print(f"  idle thread pools: {pools}")
    cpus = os.cpu_count() or 1
    if load is not None and load + threads["fastnn"] > cpus + 0.5:
        # Seen here: with one core taken by a compiler, a 2-thread kernel waits
        # for the scheduler at every barrier and runs up to 100x slower.
        print(f"  warning: load average {load:.2f} on {cpus} CPUs: other processes are busy, and kernels "
              f"using {threads['fastnn']} threads wait for them; expect noisy times (or try --threads 1)")
    if not _bench.has_fused_dense():
        print("  linear_forward+activation: this build has no fused ops.dense_forward, so the two kernels are timed in turn")
    print(flush=True)


def _result_table(rows, first_headers, first_cells, unit=("µs", 1e6), mark=lambda r, b: "") -> str:
    backends = list(dict.fromkeys(b for r in rows for b in r.seconds))
    others = [b for b in backends if b != "c"]
    gemm = any(r.case.flops for r in rows)
    headers = [*first_headers, *(f"{b} {unit[0]}" for b in backends),
               *((f"{b} GFLOP/s" for b in backends) if gemm else ()), *(f"{b}/c" for b in others)]

    def micro(s):
        us = s * unit[1]
        return f"{us:.1f}" if us < 1000 else f"{us:.0f}"

    table = []
    for r in rows:
        gflops = [f"{r.gflops(b):.1f}" if r.case.flops else "-" for b in backends] if gemm else []
        table.append([*first_cells(r), *(micro(r.seconds[b]) + mark(r, b) for b in backends), *gflops,
                      *(f"{r.speedup(b):.2f}x" for b in others)])
    return _bench.format_table(headers, table, left_columns=len(first_headers))


# A training time is marked when its samples' interquartile range exceeds this share of the median.
NOISY = 0.25


def _noisy(result, backend: str) -> bool:
    low, high = result.quartiles[backend]
    return high - low > NOISY * result.seconds[backend]


def _print_results(dtype: str, rows) -> None:
    main_rows = [r for r in rows if r.case.group == "kernels"]
    if main_rows:
        print(f"{dtype}")
        print(_result_table(main_rows, ["kernel", "size"], lambda r: [r.case.label, r.case.size]))
        print()
    scaling = set(_bench.scaling_cases([r.case for r in rows]))
    scale_rows = sorted((r for r in rows if r.case in scaling), key=lambda r: r.case.shape[0])
    if any(r.case.group == "scaling" for r in scale_rows):
        d_in, d_out = _bench.SCALING_LAYER
        print(f"{dtype}: linear_forward {d_in}->{d_out} against the batch size N")
        print(_result_table(scale_rows, ["N"], lambda r: [str(r.case.shape[0])]))
        print()
    train_rows = [r for r in rows if r.case.group == "training"]
    if train_rows:
        print(f"{dtype}: training, ms per epoch (per: epoch) or per run of E epochs (per: run)")
        print(_result_table(train_rows, ["case", "size", "per"], lambda r: [r.case.label, r.case.size, r.case.per],
                            unit=("ms", 1e3), mark=lambda r, b: "*" if _noisy(r, b) else ""))
        if any(_noisy(r, b) for r in train_rows for b in r.seconds):
            print(f"* samples spread more than {NOISY:.0%} of the median (interquartile range): "
                  "the machine was probably busy during that case")
        print()
    for r in (r for r in rows if r.case.group == "threads"):
        one, two = _bench_train.SCALING_THREADS
        noisy = any(_noisy(r, b) for b in r.seconds)
        print(f"{dtype}: fastnn's own scaling, {r.case.label} {r.case.size}: {one} thread {r.seconds['c1'] * 1e3:.1f} ms, "
              f"{two} threads {r.seconds['c'] * 1e3:.1f} ms per epoch: {r.speedup('c1'):.2f}x"
              + (f" (samples spread more than {NOISY:.0%}: the machine was probably busy)" if noisy else ""))
        print()
    sys.stdout.flush()


# Idle-worker settings for `fastnn bench`, one policy for every competitor's thread
# pool: workers spin for at most about half a millisecond after a call, then sleep.
# With the libraries' defaults, NumPy's OpenBLAS workers spin (yielding) for about
# 0.1 s after each product and libgomp's (PyTorch's and ours) for about 8 ms, so
# in an interleaved run whoever runs next shares the CPU with the last one's idle
# workers (measured here: a 1.2 ms 2-thread GEMM took 16 ms right after a NumPy
# product). Back-to-back calls of one competitor are not affected: their gaps are
# far shorter. Set by the command only: a variable the user set is kept.
BENCH_ENVIRONMENT = {
    "OPENBLAS_THREAD_TIMEOUT": "20",                    # 2^20 cycles, about 0.4 ms
    "GOMP_SPINCOUNT": fastnn.GOMP_DEFAULT_SPINCOUNT,  # about 50 us, fastnn's own default
}


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
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
