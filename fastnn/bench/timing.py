"""Interleaved timing, shared by the kernel and the training cases of ``fastnn bench``.

A competitor is a ``(name, callable)`` pair with the callable taking no
arguments; adding a backend (PyTorch, say) is adding one more pair.

:func:`sample_interleaved` times several competitors on one case in
alternation. Alternating means slow drifts of the machine (clock boost, other
processes, thermal throttling) hit every competitor alike instead of whichever
happened to run during the drift. :class:`Result` keeps the medians and
quartiles of one case in one dtype, and :data:`BENCH_ENVIRONMENT` is the
idle-thread policy the command runs under so that one competitor's idle
workers do not slow down the next.
"""

from __future__ import annotations

import gc
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import numpy as np

import fastnn

Competitor = tuple[str, Callable[[], object]]

# Idle-worker settings for `fastnn bench`, one policy for every competitor's thread
# pool: workers spin for at most about half a millisecond after a call, then sleep.
# The libraries' defaults keep idle workers spinning far longer (OpenBLAS's, yielding,
# for about a tenth of a second after each product; libgomp's, PyTorch's and ours,
# for milliseconds), so in an interleaved run whoever runs next would share the CPU
# with the last one's idle workers and be charged for them. Back-to-back calls of one
# competitor are not affected: their gaps are far shorter. Set by the command only:
# a variable the user set is kept.
BENCH_ENVIRONMENT = {
    "OPENBLAS_THREAD_TIMEOUT": "20",                    # 2^20 cycles, about 0.4 ms
    "GOMP_SPINCOUNT": fastnn.GOMP_DEFAULT_SPINCOUNT,  # about 50 us, fastnn's own default
}

#: how long each interleaved sample runs its competitor untimed before timing it
SETTLE_SECONDS = 3e-3


def _seconds_per_call(fn: Callable[[], object], loops: int) -> float:
    start = perf_counter()
    for _ in range(loops):
        fn()
    return (perf_counter() - start) / loops


def _settle(fn: Callable[[], object]) -> None:
    """Call ``fn`` at least once and until SETTLE_SECONDS have passed."""
    start = perf_counter()
    fn()
    while perf_counter() - start < SETTLE_SECONDS:
        fn()


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


def time_interleaved(competitors: Sequence[Competitor], **options) -> dict[str, float]:
    """Median seconds per call of each competitor, timed in alternation (see :func:`sample_interleaved`).

    The median, not the mean, so a few samples hit by an interrupt or by
    another process do not move the result.
    """
    return {name: statistics.median(s) for name, s in sample_interleaved(competitors, **options).items()}


def sample_interleaved(
    competitors: Sequence[Competitor],
    target_seconds: float = 0.3,
    warmup_seconds: float = 0.01,
    min_sample_seconds: float = 2e-4,
    min_rounds: int = 5,
    max_rounds: int = 2000,
    fixed_rounds: int | None = None,
) -> dict[str, list[float]]:
    """Seconds per call of each competitor, one sample per round, timed in alternation.

    Each round takes one sample of every competitor; a sample loops the
    callable enough times to last at least ``min_sample_seconds`` so that the
    timer's resolution and the loop's overhead are negligible. The number of
    rounds is chosen so the whole case takes about ``target_seconds`` (but at
    least ``min_rounds``). The order within a round flips every round so no
    competitor always runs right after the same other one. Each sample starts
    with untimed calls for SETTLE_SECONDS (at least one).

    With ``fixed_rounds`` (for calls that last long, such as training epochs)
    there is no estimate: one untimed call of each competitor, then exactly
    that many rounds of one timed call each, with no untimed call per sample.
    """
    if fixed_rounds is not None:
        for _, fn in competitors:
            fn()
        return _alternate(competitors, fixed_rounds, {name: 1 for name, _ in competitors}, wake=False)
    estimate = {name: _warm_up(fn, warmup_seconds) for name, fn in competitors}
    loops = {name: max(1, math.ceil(min_sample_seconds / max(t, 1e-9))) for name, t in estimate.items()}
    round_seconds = sum(loops[name] * estimate[name] + max(SETTLE_SECONDS, estimate[name])
                        for name, _ in competitors)
    rounds = min(max_rounds, max(min_rounds, int(target_seconds / round_seconds)))
    return _alternate(competitors, rounds, loops, wake=True)


def _alternate(competitors: Sequence[Competitor], rounds: int, loops: dict[str, int],
               wake: bool) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name, _ in competitors}
    # Like timeit: a garbage collection triggered by one competitor's garbage
    # would otherwise be charged to whoever runs next.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            order = competitors if r % 2 == 0 else list(reversed(competitors))
            for name, fn in order:
                if wake:
                    # Untimed calls first, for SETTLE_SECONDS: they wake this competitor's
                    # thread pool, asleep since its last sample, and outlast the previous
                    # competitor's idle workers, which spin for a while after its last call
                    # (OpenBLAS's for a fraction of a millisecond even with
                    # OPENBLAS_THREAD_TIMEOUT=20) and would take a core from this
                    # competitor's threads. Neither cost is seen by a program calling one
                    # library in a loop.
                    _settle(fn)
                samples[name].append(_seconds_per_call(fn, loops[name]))
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


@dataclass
class Result:
    """Median seconds per call of each backend on one case in one dtype.

    ``case`` is a kernel case (:class:`fastnn.bench.kernels.Case`) or a
    training case (:class:`fastnn.bench.training.TrainCase`); both have the
    attributes the JSON record reads (name, op, shape, activation, group,
    fused, flops) and a ``details()`` dict of their own settings.
    """

    case: Any  # a Case or a TrainCase: the attributes above, no common base class
    dtype: str
    seconds: dict[str, float]
    quartiles: dict[str, tuple[float, float]]  # 25th and 75th percentiles of the samples
    rounds: int

    @classmethod
    def from_samples(cls, case, dtype, samples: dict[str, list[float]]) -> Result:
        """The medians and quartiles of ``samples`` (seconds per call, by backend)."""
        median = {name: statistics.median(s) for name, s in samples.items()}
        quartiles = {name: (float(np.percentile(s, 25)), float(np.percentile(s, 75))) for name, s in samples.items()}
        return cls(case, str(np.dtype(dtype)), median, quartiles, len(next(iter(samples.values()))))

    def gflops(self, backend: str) -> float | None:
        flops = self.case.flops
        return None if flops is None else flops / self.seconds[backend] / 1e9

    def speedup(self, backend: str, subject: str = "c") -> float:
        """How many times faster ``subject`` is than ``backend`` (above 1: subject wins)."""
        return self.seconds[backend] / self.seconds[subject]

    def as_dict(self) -> dict:
        others = [b for b in self.seconds if b != "c"]
        return {
            "case": self.case.name,
            "op": self.case.op,
            "shape": list(self.case.shape),
            "activation": self.case.activation,
            "group": self.case.group,
            "fused": self.case.fused,
            "dtype": self.dtype,
            "flops": self.case.flops,
            "seconds": dict(self.seconds),
            "seconds_quartiles": {b: list(q) for b, q in self.quartiles.items()},
            "rounds": self.rounds,
            "gflops": {b: self.gflops(b) for b in self.seconds} if self.case.flops else None,
            "speedup": {f"{b}/c": self.speedup(b) for b in others},
            **self.case.details(),
        }
