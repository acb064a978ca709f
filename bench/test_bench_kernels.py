"""Benchmarks: the kernel cases of ``fastnn bench`` (fastnn.bench.kernels.BENCH_CASES) as
pytest-benchmark tests, for the backends "c" (fastnn.ops), "numpy"
(fastnn.reference) and "torch" (skipped when PyTorch is not importable),
float32 and float64.

Run with ``pytest bench/ --benchmark-only``. Plain ``pytest`` does not
collect this directory: pyproject.toml sets ``testpaths = ["tests"]``.
``python -m fastnn bench`` times the same callables in alternation in one
process and is the better comparison; this suite is for pytest-benchmark's
history and comparison tools (``--benchmark-autosave``, ``--benchmark-compare``).

Each benchmark sets ``benchmark.group`` to "<case> <dtype>", so the report
shows the backends of one case next to each other. What each backend's call
computes is described in fastnn/bench/kernels.py. There are no timing
assertions: machines differ too much for a threshold to mean anything.

Deliberately no bench/conftest.py: tests/ imports its helpers with
``from conftest import ...``, and a second top-level conftest module would
replace that one whenever both directories are collected in one run.
"""

from __future__ import annotations

import pytest

import fastnn
from fastnn.bench.kernels import BACKENDS, BENCH_CASES, case_competitors
from fastnn.bench.machine import import_torch

DTYPES = ("float32", "float64")
TORCH = import_torch()
BACKEND_NAMES = [*BACKENDS, "torch"]

# pytest-benchmark's defaults (up to 1 s per benchmark, no warm-up) would make
# the whole suite several times longer; a quarter of a second each still gives
# hundreds of rounds for all but the largest GEMMs.
# Rounds of at least 100 us keep timer resolution out of the small kernels;
# warm-up keeps first-call costs (page faults, OpenMP pool start) out of them.
pytestmark = pytest.mark.benchmark(max_time=0.25, min_rounds=10, min_time=1e-4, warmup=True, warmup_iterations=20)


@pytest.fixture(scope="module", autouse=True)
def same_threads_for_torch():
    """torch uses as many threads as fastnn, as in `fastnn bench`."""
    if TORCH is None:
        yield
        return
    before = TORCH.get_num_threads()
    TORCH.set_num_threads(fastnn.get_num_threads())
    yield
    TORCH.set_num_threads(before)


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", BENCH_CASES, ids=lambda case: case.name.replace(" ", "-"))
def test_case(benchmark, case, dtype, backend):
    """Time one backend on one case; its inputs are built by case_competitors, outside the timed call."""
    if backend == "torch" and TORCH is None:
        pytest.skip("PyTorch is not importable")
    [(_, call)] = case_competitors(case, dtype, backends=[backend])
    benchmark.group = f"{case.name} {dtype}"
    benchmark(call)
