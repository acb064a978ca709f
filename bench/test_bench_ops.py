"""Benchmarks: every compiled kernel (fastnn.ops, "c") against its NumPy twin
(fastnn.reference, "numpy"), float32 and float64, at the coursework sizes.

Run with ``pytest bench/ --benchmark-only`` (a minute or so). Plain ``pytest``
does not collect this directory: pyproject.toml sets ``testpaths = ["tests"]``.

Each benchmark sets ``benchmark.group`` to "<kernel> <size> <dtype>", so the
report shows the c and numpy rows of one case next to each other. There are no
timing assertions: machines differ too much for a threshold to mean anything.

Deliberately no bench/conftest.py: tests/ imports its helpers with
``from conftest import ...``, and a second top-level conftest module would
replace that one whenever both directories are collected in one run.
"""

from __future__ import annotations

import pytest

from fastnn._bench import BACKENDS, make_args, shape_label

DTYPES = ("float32", "float64")
ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu")
LINEAR_SIZES = [(100, 3072, 50), (256, 784, 512)]  # (N, D_in, D_out)
ROW_SIZES = [(256, 512), (256, 4096)]  # batch norm and activations: (N, D)
SOFTMAX_SIZES = [(256, 10), (256, 1000)]  # (N, classes)

# pytest-benchmark's defaults (up to 1 s per benchmark, no warm-up) would make
# the 136 benchmarks take several minutes; 0.25 s each keeps the run near one
# minute and still gives hundreds of rounds for all but the largest GEMMs.
# Rounds of at least 100 us keep timer resolution out of the small kernels;
# warm-up keeps first-call costs (page faults, OpenMP pool start) out of them.
pytestmark = pytest.mark.benchmark(max_time=0.25, min_rounds=10, min_time=1e-4, warmup=True, warmup_iterations=20)

# Every case as (kernel, shape, activation or None); the ids read like
# "activation_forward[tanh]-256x4096", then the dtype, then the backend.
CASES = (
    [("linear_forward", shape, None) for shape in LINEAR_SIZES]
    + [("linear_backward", shape, None) for shape in LINEAR_SIZES]
    + [("batchnorm_forward", shape, None) for shape in ROW_SIZES]
    + [("batchnorm_backward", shape, None) for shape in ROW_SIZES]
    + [(op, shape, name) for op in ("activation_forward", "activation_backward")
       for shape in ROW_SIZES for name in ACTIVATIONS]
    + [("softmax_cross_entropy", shape, None) for shape in SOFTMAX_SIZES]
)


def case_id(case):
    op, shape, activation = case
    kernel = f"{op}[{activation}]" if activation else op
    return f"{kernel}-{shape_label(op, shape)}"


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_kernel(benchmark, case, dtype, backend):
    """Time ``<backend>.<op>`` on seeded inputs built here, outside the timed call."""
    op, shape, activation = case
    args = make_args(op, shape, dtype, activation=activation)
    benchmark.group = f"{case_id(case)} {dtype}"
    benchmark(getattr(BACKENDS[backend], op), *args)
