"""Timing helpers shared by the ``fastnn`` command line and the bench/ suite.

* :func:`make_args` builds seeded inputs for one kernel at one size, so every
  backend (and bench/ and the CLI) times the same data.
* :func:`time_interleaved` times several competitors on one case in
  alternation and reports medians. Alternating means slow drifts of the machine
  (clock boost, other processes, thermal throttling) hit every competitor
  alike instead of whichever happened to run during the drift.
* :func:`format_table` lays results out as aligned plain text.

A competitor is a ``(name, callable)`` pair with the callable taking no
arguments; adding a backend (PyTorch, say) is adding one more pair.
"""

from __future__ import annotations

import gc
import math
import statistics
from time import perf_counter
from typing import Callable, Sequence

import numpy as np

from . import ops, reference

# The two implementations of every kernel, under the names bench/ uses.
BACKENDS = {"c": ops, "numpy": reference}

Competitor = tuple[str, Callable[[], object]]


# ---------------------------------------------------------------- inputs

def shape_label(op: str, shape: tuple[int, ...]) -> str:
    """How a size reads in tables: "256x784->512" for linear layers, "256x512" otherwise."""
    if op.startswith("linear"):
        n, d_in, d_out = shape
        return f"{n}x{d_in}->{d_out}"
    return "x".join(str(d) for d in shape)


def make_args(op: str, shape: tuple[int, ...], dtype, activation: str | None = None, seed: int = 0) -> tuple:
    """Positional arguments for ``ops.<op>`` / ``reference.<op>``, C-ordered, of ``dtype``.

    ``shape`` is (N, D_in, D_out) for the linear kernels and (N, D) for the
    others. Activation kernels take the activation name as their first
    argument. Backward inputs are made consistent with the forward pass (H is
    f(S), mean/var are S's statistics) so every branch of a kernel is exercised
    roughly as in training, not on arbitrary numbers.
    """
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)

    def randn(*dims):
        return rng.standard_normal(dims).astype(dtype)

    if op == "linear_forward":
        n, d_in, d_out = shape
        return randn(n, d_in), randn(d_out, d_in), randn(d_out)
    if op == "linear_backward":
        n, d_in, d_out = shape
        return randn(n, d_out), randn(n, d_in), randn(d_out, d_in)

    n, d = shape
    if op == "batchnorm_forward":
        return randn(n, d), 1 + randn(d), randn(d)
    if op == "batchnorm_backward":
        S = randn(n, d)
        _, mean, var = reference.batchnorm_forward(S, np.ones(d, dtype), np.zeros(d, dtype))
        return randn(n, d), S, 1 + randn(d), mean, var
    if op == "activation_forward":
        return activation, randn(n, d)
    if op == "activation_backward":
        H = reference.activation_forward(activation, randn(n, d))
        return activation, randn(n, d), H
    if op == "softmax_cross_entropy":
        # logits of a few units spread, like a classifier part-way through training
        return 3 * randn(n, d), rng.integers(0, d, size=n)
    raise ValueError(f"unknown kernel {op!r}")


def kernel_competitors(op: str, args: tuple) -> list[Competitor]:
    """One competitor per backend in BACKENDS, each calling its ``op`` on the same ``args``."""
    return [(name, _bind(getattr(module, op), args)) for name, module in BACKENDS.items()]


def _bind(fn, args):
    # Binds fn now: a lambda written inside the loop above would look up
    # `module` when called, and every competitor would run the last backend.
    return lambda: fn(*args)


# ---------------------------------------------------------------- timing

def _seconds_per_call(fn: Callable[[], object], loops: int) -> float:
    start = perf_counter()
    for _ in range(loops):
        fn()
    return (perf_counter() - start) / loops


def _warm_up(fn: Callable[[], object], seconds: float) -> float:
    """Run ``fn`` for about ``seconds``; return its mean time per call.

    The first call is not counted: it pays one-off costs (page faults on new
    buffers, starting the OpenMP thread pool, filling caches).
    """
    fn()
    calls = 0
    start = perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = perf_counter() - start
        if elapsed >= seconds:
            return elapsed / calls


def time_interleaved(
    competitors: Sequence[Competitor],
    target_seconds: float = 0.3,
    warmup_seconds: float = 0.01,
    min_sample_seconds: float = 2e-4,
    min_rounds: int = 5,
    max_rounds: int = 2000,
) -> dict[str, float]:
    """Median seconds per call of each competitor, timed in alternation.

    Each round takes one sample of every competitor; a sample loops the
    callable enough times to last at least ``min_sample_seconds`` so that the
    timer's resolution and the loop's overhead are negligible. The number of
    rounds is chosen so the whole case takes about ``target_seconds`` (but at
    least ``min_rounds``). The order within a round flips every round so no
    competitor always runs right after the same other one. The median, not
    the mean, so a few samples hit by an interrupt do not move the result.
    """
    estimate = {name: _warm_up(fn, warmup_seconds) for name, fn in competitors}
    loops = {name: max(1, math.ceil(min_sample_seconds / max(t, 1e-9))) for name, t in estimate.items()}
    round_seconds = sum(loops[name] * estimate[name] for name, _ in competitors)
    rounds = min(max_rounds, max(min_rounds, int(target_seconds / round_seconds)))

    samples: dict[str, list[float]] = {name: [] for name, _ in competitors}
    # Like timeit: a garbage collection triggered by one competitor's garbage
    # would otherwise be charged to whoever runs next.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            order = competitors if r % 2 == 0 else list(reversed(competitors))
            for name, fn in order:
                samples[name].append(_seconds_per_call(fn, loops[name]))
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: statistics.median(s) for name, s in samples.items()}


# ---------------------------------------------------------------- output

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
