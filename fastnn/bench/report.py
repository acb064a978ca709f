"""What ``fastnn bench`` prints and draws: the heading, the result tables and the plot.

Times are per call in microseconds for the kernel cases and in milliseconds
per epoch (or per run) for the training cases; speed-ups are the other
backend's time over fastnn's (above 1: fastnn is faster).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import numpy as np

import fastnn

from .._text import count
from .kernels import SCALING_LAYER, has_fused_dense, scaling_cases
from .timing import BENCH_ENVIRONMENT, FLOOR_RATIO, RETRIES, SPREAD, WINDOW_RATIO, Result
from .training import QUICK_FACTOR, SCALING_THREADS


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], left_columns: int = 1) -> str:
    """Aligned plain text: the first ``left_columns`` columns (names) left-aligned, the rest (numbers) right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells):
        parts = [
            str(cell).ljust(w) if i < left_columns else str(cell).rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def print_heading(threads: dict, torch, seconds: float | None, rounds: int, load: float | None,
                  train_rounds: int | None = None, quick: bool = False) -> None:
    """The build, the versions, the thread counts and how to read the tables that follow."""
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
              f"median of {count(train_rounds, 'interleaved round')} after one untimed run each"
              + (f"; --quick: {QUICK_FACTOR}x fewer samples (per-epoch cases) or epochs (runs)"
                 if quick else ""))
    pools = ", ".join(f"{k}={os.environ.get(k, 'unset (library default)')}" for k in BENCH_ENVIRONMENT)
    print(f"  idle thread pools: {pools}")
    print(f"  * marks a time still untrusted after {count(RETRIES, 're-measurement')}: "
          f"samples spread over {SPREAD:.0%} "
          f"of the median, a median over {FLOOR_RATIO:g}x the fastest sample, (kernels) the library's "
          f"probe over {WINDOW_RATIO:g}x its quiet floor during the case, or other processes runnable "
          "on the cores its threads need")
    cpus = os.cpu_count() or 1
    if load is not None and load + threads["fastnn"] > cpus + 0.5:
        # With more runnable threads than CPUs, a 2-thread kernel waits for the
        # scheduler at every barrier: its time measures the other processes.
        print(f"  warning: load average {load:.2f} on {cpus} CPUs: other processes are busy, and kernels "
              f"using {threads['fastnn']} threads wait for them; expect noisy times (or try --threads 1)")
    if not has_fused_dense():
        print("  linear_forward+activation: this build has no fused ops.dense_forward, "
              "so the two kernels are timed in turn")
    print(flush=True)


def _mark(result: Result, *backends: str) -> str:
    return "*" if any(b in result.untrusted for b in backends) else ""


def result_table(rows: Sequence[Result], first_headers, first_cells, unit=("µs", 1e6)) -> str:
    """One table of ``rows``: ``first_headers``/``first_cells(r)`` name the case, then times, GFLOP/s, speed-ups.

    ``unit`` is the time column's unit and its factor from seconds. An
    untrusted time (``Result.untrusted``) is marked ``*``, and so are the
    GFLOP/s and the speed-ups computed from it.
    """
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
        gflops = [f"{r.gflops(b):.1f}" + _mark(r, b) if r.case.flops else "-" for b in backends] if gemm else []
        table.append([*first_cells(r), *(micro(r.seconds[b]) + _mark(r, b) for b in backends), *gflops,
                      *(f"{r.speedup(b):.2f}x" + _mark(r, b, "c") for b in others)])
    return format_table(headers, table, left_columns=len(first_headers))


def marked_count(rows: Sequence[Result]) -> str:
    """How many of ``rows`` carry a mark, as the tables' heading says it."""
    marked = sum(1 for r in rows if r.untrusted)
    cases = count(len(rows), "case")
    if not marked:
        return f"{cases}, none marked *"
    retries = count(RETRIES, "re-measurement")
    return f"{cases}, {marked} marked * (a time still untrusted after {retries}; why, below the tables)"


def print_results(dtype: str, rows: Sequence[Result]) -> None:
    """The tables of one dtype: kernels, the linear_forward scaling, training, the threads line and the marks."""
    print(f"{dtype}: {marked_count(rows)}")
    main_rows = [r for r in rows if r.case.group == "kernels"]
    if main_rows:
        print(f"{dtype}")
        print(result_table(main_rows, ["kernel", "size"], lambda r: [r.case.label, r.case.size]))
        print()
    scaling = set(scaling_cases([r.case for r in rows]))
    scale_rows = sorted((r for r in rows if r.case in scaling), key=lambda r: r.case.shape[0])
    if any(r.case.group == "scaling" for r in scale_rows):
        d_in, d_out = SCALING_LAYER
        print(f"{dtype}: linear_forward {d_in}->{d_out} against the batch size N")
        print(result_table(scale_rows, ["N"], lambda r: [str(r.case.shape[0])]))
        print()
    train_rows = [r for r in rows if r.case.group == "training"]
    if train_rows:
        print(f"{dtype}: training, ms per epoch (per: epoch) or per run of E epochs (per: run)")
        print(result_table(train_rows, ["case", "size", "per"], lambda r: [r.case.label, r.case.size, r.case.per],
                           unit=("ms", 1e3)))
        print()
    for r in (r for r in rows if r.case.group == "threads"):
        one, two = SCALING_THREADS
        print(f"{dtype}: fastnn's own scaling, {r.case.label} {r.case.size}: "
              f"{one} thread {r.seconds['c1'] * 1e3:.1f}{_mark(r, 'c1')} ms, "
              f"{two} threads {r.seconds['c'] * 1e3:.1f}{_mark(r, 'c')} ms per epoch: "
              f"{r.speedup('c1'):.2f}x{_mark(r, 'c', 'c1')}")
        print()
    marked = [r for r in rows if r.untrusted]
    if marked:
        print(f"{dtype}: marked * (another process probably held a core):")
        for r in marked:
            for backend, why in r.untrusted.items():
                times = "once" if r.attempts == 1 else f"{r.attempts} times"
                print(f"  {r.case.name}, {backend} (measured {times}): {why}")
        print()
    sys.stdout.flush()


def print_summary(results: Sequence[Result]) -> None:
    """The run's last line: how many results were marked, and what to do about them."""
    marked = sum(1 for r in results if r.untrusted)
    remeasured = sum(1 for r in results if r.attempts > 1)
    print(f"fastnn bench: {count(len(results), 'result')}, {remeasured} measured again, {marked} marked *"
          + ("; compare marked figures only after a quieter run (or with --threads 1)" if marked else ""))
    sys.stdout.flush()


def plot_results(results: Sequence[Result], path: str) -> None:
    """Speed-ups of the compiled kernels per case (bars) and the linear_forward scaling (lines), one PNG/PDF/SVG.

    Needs matplotlib (imported here, so the rest of fastnn does not); the
    caller checks it is importable before spending time on the timings.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dtypes = sorted({r.dtype for r in results})
    main = [r for r in results if r.case.group in ("kernels", "training")]
    scaling = set(scaling_cases([r.case for r in results]))
    scale_rows = [r for r in results if r.case in scaling]
    others = [b for b in dict.fromkeys(b for r in main for b in r.seconds) if b != "c"]

    fig, axes = plt.subplots(1, 2, figsize=(15, 6.5), gridspec_kw={"width_ratios": [3, 1]})
    bars, lines = axes
    names = list(dict.fromkeys(r.case.name for r in main))
    series = [(dtype, other) for dtype in dtypes for other in others]
    width = 0.8 / max(1, len(series))
    for k, (dtype, other) in enumerate(series):
        by_name = {r.case.name: r.speedup(other) for r in main if r.dtype == dtype and other in r.seconds}
        xs = [i + (k - (len(series) - 1) / 2) * width for i, n in enumerate(names) if n in by_name]
        bars.bar(xs, [by_name[n] for n in names if n in by_name], width, label=f"{other} / c, {dtype}")
    bars.axhline(1.0, color="black", linewidth=0.8)
    bars.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
    bars.set_ylabel("speed-up of fastnn (other's time / fastnn's time)")
    bars.set_yscale("log")
    bars.set_title("fastnn (C) against NumPy and PyTorch: above 1, fastnn is faster")
    bars.legend(fontsize=8)

    for dtype in dtypes:
        rows = sorted((r for r in scale_rows if r.dtype == dtype), key=lambda r: r.case.shape[0])
        for backend in (rows[0].seconds if rows else {}):
            lines.plot([r.case.shape[0] for r in rows], [r.seconds[backend] * 1e6 for r in rows],
                       marker="o", label=f"{backend}, {dtype}")
    lines.set_xscale("log")
    lines.set_yscale("log")
    lines.set_xlabel("batch size N")
    lines.set_ylabel("median time per call (µs)")
    lines.set_title(f"linear_forward, {SCALING_LAYER[0]}->{SCALING_LAYER[1]}")
    if scale_rows:
        lines.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
