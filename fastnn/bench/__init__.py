"""The benchmark harness behind ``fastnn bench``: fastnn against NumPy and PyTorch.

:func:`run` is what the command calls: it selects the cases, sets one thread
count for every competitor, times the cases in alternation, prints the tables
and writes the JSON record and the plot. The modules, by role:

* :mod:`fastnn.bench.kernels`: the kernel cases (:data:`~fastnn.bench.kernels.BENCH_CASES`)
  and their competitors, fastnn.ops ("c"), fastnn.reference ("numpy") and PyTorch ("torch");
* :mod:`fastnn.bench.training`: the training cases (:data:`~fastnn.bench.training.TRAIN_CASES`)
  and their competitors, fastnn's ``fit`` ("c"), a plain NumPy MLP written as a student
  writes it from the lecture notes ("numpy") and a PyTorch loop ("torch");
* :mod:`fastnn.bench.timing`: interleaved timing, the result of one case, the
  rules that find the times not to trust (measured again, then marked ``*``),
  and the idle-thread settings the command runs under;
* :mod:`fastnn.bench.report`: the heading, the tables and the plot;
* :mod:`fastnn.bench.machine`: the CPU, the thread pools and the library versions.

The bench/ suite (pytest-benchmark) times the same competitors one at a time.
"""

from __future__ import annotations

import json
import os
import sys

import fastnn

from . import kernels, machine, report, training
from .timing import (
    BENCH_ENVIRONMENT,
    FLOOR_RATIO,
    RETRIES,
    SPREAD,
    WINDOW_RATIO,
    ProbeFloors,
    measure_until_trusted,
    sample_with_probes,
)

__all__ = ["run", "all_cases", "FULL", "QUICK", "TRAIN_ROUNDS", "BENCH_ENVIRONMENT"]

# (seconds per case, minimum rounds) of a full and of a --quick run
FULL = (1.0, 20)
QUICK = (0.1, 5)
# rounds of the training cases (each after one untimed run) in a full and a --quick run;
# --quick also trains on a tenth of the samples (per-epoch cases) or of the epochs (whole runs)
TRAIN_ROUNDS = (5, 3)


def all_cases() -> list:
    """Every case of ``fastnn bench``: the kernel cases, then the training cases."""
    return [*kernels.BENCH_CASES, *training.TRAIN_CASES]


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


def run(*, cases: str | None = None, dtype: str = "both", quick: bool = False, seconds: float | None = None,
        rounds: int | None = None, threads: int | None = None, json_path: str | None = None,
        plot_path: str | None = None) -> int:
    """Time the benchmark cases, print the tables, and write the JSON record and the plot if asked.

    Parameters
    ----------
    cases : str, optional
        Only the cases whose name contains this text (case-insensitive); a
        full case name selects that case alone. Default: every case.
    dtype : {"float32", "float64", "both"}
        The dtypes to time, one table each.
    quick : bool
        Fewer rounds (:data:`QUICK` instead of :data:`FULL`) and smaller
        training cases (see ``TrainCase.quick``).
    seconds : float, optional
        About how long to time each kernel case in each dtype.
    rounds : int, optional
        At least this many rounds per kernel case; exactly this many per
        training case.
    threads : int, optional
        Threads for every competitor: fastnn, PyTorch and NumPy's BLAS (the
        last through threadpoolctl, when installed). Default: fastnn's current
        count. The caller's settings are put back afterwards.
    json_path, plot_path : str, optional
        Where to write every number with the machine and the versions (JSON),
        and the speed-ups and the scaling table (an image; needs matplotlib).

    Returns
    -------
    int
        The exit code: 0 on success, 1 when ``plot_path`` is given without
        matplotlib, 2 for a selection that matches no case or an output path
        that cannot be written, 130 when interrupted. Errors are printed to
        stderr before any timing.
    """
    everything = all_cases()
    selected = everything
    if cases is not None:
        wanted = cases.lower()
        # A full name selects that case alone ("... 256x10" is also in "... 256x1000").
        exact = [c for c in selected if c.name.lower() == wanted]
        selected = exact or [c for c in selected if wanted in c.name.lower()]
        if not selected:
            names = "\n  ".join(c.name for c in everything)
            return _fail(f"no case name contains {cases!r}; the cases are:\n  {names}", 2)
    for option, path in (("--json", json_path), ("--plot", plot_path)):
        problem = path is not None and _check_output_path(option, path)
        if problem:
            return _fail(problem, 2)
    if plot_path is not None:
        try:
            import matplotlib  # noqa: F401  (checked now: failing after the timings would waste them)
        except ImportError:
            return _fail("--plot needs matplotlib, which is not installed (pip install matplotlib); "
                         "run without --plot, or with --json to keep the numbers", 1)

    default_seconds, default_rounds = QUICK if quick else FULL
    seconds = default_seconds if seconds is None else seconds
    train_rounds = TRAIN_ROUNDS[1 if quick else 0] if rounds is None else rounds
    rounds = default_rounds if rounds is None else rounds
    if quick:
        selected = [c.quick() if isinstance(c, training.TrainCase) else c for c in selected]
    dtypes = ["float32", "float64"] if dtype == "both" else [dtype]

    torch = machine.import_torch()
    threads = threads if threads is not None else fastnn.get_num_threads()
    # Same thread count for every competitor; put back afterwards, since run()
    # may be called from a Python session that has its own settings.
    fastnn_before = fastnn.get_num_threads()
    torch_before = None if torch is None else torch.get_num_threads()
    fastnn.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    blas_limit = machine.limit_blas_threads(threads)
    try:
        threads_used = {
            "fastnn": fastnn.get_num_threads(),
            "torch": None if torch is None else torch.get_num_threads(),
            "numpy_blas": machine.blas_threads(),
        }
        build = fastnn.build_info()  # now, while max_threads is the count in use
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        has_training = any(isinstance(c, training.TrainCase) for c in selected)
        has_kernels = not all(isinstance(c, training.TrainCase) for c in selected)
        report.print_heading(threads_used, torch, seconds if has_kernels else None, rounds, load,
                             train_rounds if has_training else None, quick)
        results = []
        probes = kernels.probe_competitors() if has_kernels else None
        floors = ProbeFloors()
        if probes:  # a first floor for each library, before any case: ten rounds of probes alone
            floors.observe(sample_with_probes([], probes, fixed_rounds=10)[1])
        for each in dtypes:
            def measure(case, each=each):
                if isinstance(case, training.TrainCase):
                    return training.run_train_case(case, each, train_rounds)
                return kernels.run_case(case, each, seconds, rounds, probes, floors)

            # Every case is measured, then those with an untrusted time again (see fastnn.bench.timing).
            rows = measure_until_trusted(selected, measure, floors, RETRIES)
            results.extend(rows)
            report.print_results(each, rows)
        report.print_summary(results)
    except KeyboardInterrupt:
        print("\nfastnn bench: interrupted", file=sys.stderr)
        return 130
    finally:
        if blas_limit is not None:
            blas_limit.restore_original_limits()
        fastnn.set_num_threads(fastnn_before)
        if torch is not None:
            torch.set_num_threads(torch_before)

    if json_path is not None:
        record = {
            "command": "fastnn bench",
            "settings": {"quick": quick, "seconds_per_case": seconds, "min_rounds": rounds,
                         "training_rounds": train_rounds, "dtypes": dtypes, "cases_filter": cases,
                         "untrusted_rules": {"spread": SPREAD, "floor_ratio": FLOOR_RATIO,
                                             "window_ratio": WINDOW_RATIO, "retries": RETRIES}},
            "probe_floor_seconds": dict(floors.floor),
            "threads": threads_used,
            "thread_pool_environment": {k: os.environ.get(k) for k in BENCH_ENVIRONMENT},
            "load_average_at_start": load,
            "build": build,
            "cpu": machine.cpu_facts(),
            "versions": machine.versions(torch),
            "backends": {"c": "fastnn.ops", "numpy": "fastnn.reference",
                         **({"torch": "torch.nn.functional + autograd"} if torch is not None else {})},
            "training_backends": {"c": "fastnn.MLP(...).fit", "numpy": "fastnn.bench.training.PlainMLP",
                                  "c1": "fastnn.MLP(...).fit on 1 thread (the threads case; its c has 2)",
                                  **({"torch": "torch.nn.Sequential + torch.optim"} if torch is not None else {})},
            "fused_dense_forward": kernels.has_fused_dense(),
            "results": [r.as_dict() for r in results],
        }
        with open(json_path, "w") as f:
            json.dump(record, f, indent=2)
        print(f"\nwrote {json_path}")
    if plot_path is not None:
        report.plot_results(results, plot_path)
        print(f"wrote {plot_path}")
    return 0
