"""The ``fastnn`` command (also ``python -m fastnn``).

    fastnn info [--threads N] [--dtype float32|float64]

prints how the kernels were built and a quick timing of the compiled kernels
(fastnn.ops) against their NumPy twins (fastnn.reference).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import fastnn

from . import _bench

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
    return parser


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
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
