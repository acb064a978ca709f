"""Benchmarks: the training cases of ``fastnn bench`` (fastnn.bench.training.TRAIN_CASES)
as pytest-benchmark tests: fastnn's ``fit`` ("c"), the plain NumPy network
("numpy") and PyTorch ("torch", skipped when it is not importable), float32
and float64; the threads case times fastnn on 2 threads ("c") and 1 ("c1").

Run with ``pytest bench/test_bench_training.py --benchmark-only``. One call
is a whole epoch (or a whole run of E epochs for the 64-100-10 and 2-16-2
cases), so each benchmark is one untimed call then 3 timed ones.
``python -m fastnn bench --cases train`` times the same callables in
alternation in one process and is the better comparison.

Each benchmark's group is "<case> <dtype>", so the report shows the
competitors of one case side by side. No timing assertions.
"""

from __future__ import annotations

import pytest

import fastnn
from fastnn.bench.training import TRAIN_CASES, backend_names, train_competitors
from test_bench_kernels import TORCH, same_threads_for_torch  # noqa: F401  (the autouse fixture, imported to apply here)

DTYPES = ("float32", "float64")
ROUNDS = 3
PARAMS = [(case, backend) for case in TRAIN_CASES for backend in backend_names(case)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case, backend", PARAMS,
                         ids=[f"{case.name.replace(' ', '-')}-{backend}" for case, backend in PARAMS])
def test_train(benchmark, case, backend, dtype):
    """One competitor on one training case; its model and data are built outside the timed calls."""
    if backend == "torch" and TORCH is None:
        pytest.skip("PyTorch is not importable")
    [(_, call)] = train_competitors(case, dtype, backends=[backend])
    benchmark.group = f"{case.name} {dtype}"
    threads = fastnn.get_num_threads()  # the threads case's competitors set their own count
    try:
        benchmark.pedantic(call, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    finally:
        fastnn.set_num_threads(threads)
