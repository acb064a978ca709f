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

Untrusted times. Another process that holds a core can make a competitor's
time meaningless: its threads wait for that core at every synchronisation, and
a product of a few microseconds can take milliseconds, every call alike. A
competitor's time on a case is untrusted when (see :func:`untrusted_reasons`)

* its samples spread widely: the interquartile range is more than
  :data:`SPREAD` of the median;
* its median is far above its own fastest sample: more than
  :data:`FLOOR_RATIO` times;
* its library ran far above its quiet floor during the case: a small fixed
  reference product of the same library (a *probe*, timed after every round
  of the case) took more than :data:`WINDOW_RATIO` times the fastest that
  probe ever took in the run (:class:`ProbeFloors`). This catches the case
  where every sample was slowed alike, which the first two cannot see;
* other processes wanted the cores it needs: after most rounds, the system's
  run queue held more runnable tasks besides the bench's own threads than the
  CPUs its threads leave free (:func:`runnable_elsewhere`, Linux). A long call
  cannot slip between another process's time slices the way a short probe can.

``fastnn bench`` measures such a case again, at most :data:`RETRIES` times,
and marks a time that is still untrusted with ``*``.
"""

from __future__ import annotations

import gc
import math
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import numpy as np

import fastnn

from .._text import count

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
    "GOMP_SPINCOUNT": fastnn.GOMP_DEFAULT_SPINCOUNT,  # fastnn's own default, 30 to 400 us
}

#: how long each interleaved sample runs its competitor untimed before timing it
SETTLE_SECONDS = 3e-3

#: a time is untrusted when its samples' interquartile range exceeds this share of their median
SPREAD = 0.25
#: ... or when its median exceeds its fastest sample this many times
FLOOR_RATIO = 2.0
#: ... or when its library's probe, timed in the case's window, exceeds the probe's quiet floor this many times
WINDOW_RATIO = 3.0
#: how many times ``fastnn bench`` measures a case again while one of its times is untrusted
RETRIES = 2
#: timed calls of a probe after each round (the fastest counts), after one untimed call that wakes its threads
PROBE_CALLS = 3


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


def sample_interleaved(competitors: Sequence[Competitor], **options) -> dict[str, list[float]]:
    """Seconds per call of each competitor, one sample per round, timed in alternation.

    The samples of :func:`sample_with_probes` without probes; it takes the same options.
    """
    return sample_with_probes(competitors, None, **options)[0]


def sample_with_probes(
    competitors: Sequence[Competitor],
    probes: Sequence[Competitor] | None,
    target_seconds: float = 0.3,
    warmup_seconds: float = 0.01,
    min_sample_seconds: float = 2e-4,
    min_rounds: int = 5,
    max_rounds: int = 2000,
    fixed_rounds: int | None = None,
) -> tuple[dict[str, list[float]], dict[str, list[float]], list[int]]:
    """Seconds per call of each competitor, one sample per round, timed in alternation; the probes' times;
    and after each round, the other processes' runnable tasks (see :func:`runnable_elsewhere`).

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

    ``probes`` (name, callable) pairs, one per library, are timed after every
    round: one untimed call, then the fastest of PROBE_CALLS timed ones. Their
    times (seconds per call, one per round) are returned beside the samples,
    for :class:`ProbeFloors` and :func:`untrusted_reasons`, and so are the
    counts of :func:`runnable_elsewhere` (empty where it is not available).
    """
    probes = list(probes or ())
    if fixed_rounds is not None:
        for _, fn in competitors:
            fn()
        return _alternate(competitors, fixed_rounds, {name: 1 for name, _ in competitors}, wake=False,
                          probes=probes)
    estimate = {name: _warm_up(fn, warmup_seconds) for name, fn in competitors}
    loops = {name: max(1, math.ceil(min_sample_seconds / max(t, 1e-9))) for name, t in estimate.items()}
    round_seconds = sum(loops[name] * estimate[name] + max(SETTLE_SECONDS, estimate[name])
                        for name, _ in competitors)
    rounds = min(max_rounds, max(min_rounds, int(target_seconds / round_seconds)))
    return _alternate(competitors, rounds, loops, wake=True, probes=probes)


def _probe_seconds(fn: Callable[[], object]) -> float:
    fn()
    return min(_seconds_per_call(fn, 1) for _ in range(PROBE_CALLS))


def _alternate(competitors: Sequence[Competitor], rounds: int, loops: dict[str, int], wake: bool,
               probes: Sequence[Competitor] = ()) -> tuple[dict[str, list[float]], dict[str, list[float]], list[int]]:
    samples: dict[str, list[float]] = {name: [] for name, _ in competitors}
    probe_samples: dict[str, list[float]] = {name: [] for name, _ in probes}
    runnable: list[int] = []
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
            others = runnable_elsewhere()
            if others is not None:
                runnable.append(others)
            for name, fn in probes:
                probe_samples[name].append(_probe_seconds(fn))
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples, probe_samples, runnable


def runnable_elsewhere() -> int | None:
    """How many tasks of other processes are runnable now (running or waiting for a CPU); None off Linux.

    The system's count of runnable tasks (``/proc/loadavg``) less this
    process's own running threads (``/proc/self/task/*/stat``).
    """
    try:
        own = 0
        for task in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{task}/stat") as f:
                    own += f.read().rsplit(")", 1)[1].split()[0] == "R"
            except (OSError, IndexError):  # a thread that ended meanwhile
                continue
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(0, running - own)


def untrusted_reasons(samples: Sequence[float], window: float | None = None, floor: float | None = None,
                      runnable: Sequence[int] = (), spare_cpus: int | None = None) -> list[str]:
    """Why a competitor's time on one case cannot be trusted; an empty list when it can.

    Parameters
    ----------
    samples : sequence of float
        The competitor's seconds per call, one per round.
    window : float, optional
        The median time of its library's probe during the case.
    floor : float, optional
        The fastest time of that probe in the whole run (its quiet floor).
    runnable : sequence of int, optional
        Other processes' runnable tasks, counted after each round.
    spare_cpus : int, optional
        The CPUs the competitors' threads leave free.

    Returns
    -------
    list of str
        One short reason per rule broken: the spread (interquartile range
        over the median above SPREAD), a median above the fastest sample
        (more than FLOOR_RATIO times), the probe above its floor (more than
        WINDOW_RATIO times), or other processes' runnable tasks above the
        spare CPUs (their median over the rounds).

    Examples
    --------
    >>> untrusted_reasons([1.0, 1.02, 0.98, 1.01, 0.99])
    []
    >>> untrusted_reasons([1.0] * 5, window=0.024, floor=4.7e-5)
    ['its library ran 511x above its quiet floor during the case']
    """
    reasons = []
    if len(runnable) and spare_cpus is not None:
        others = statistics.median(runnable)
        if others > spare_cpus:
            reasons.append(f"other processes had {count(others, 'runnable task')} (median over the rounds) "
                           f"for {count(spare_cpus, 'spare CPU')}")
    values = np.asarray(samples, dtype=float)
    median = float(np.median(values))
    low, high = np.percentile(values, [25, 75])
    if median <= 0:  # below the timer's resolution: nothing to judge
        return reasons
    if high - low > SPREAD * median:
        reasons.append(f"samples spread {(high - low) / median:.0%} of the median")
    fastest = float(values.min())
    if median > FLOOR_RATIO * fastest:
        ratio = f"{median / fastest:.1f}x" if fastest > 0 else "far above"
        reasons.append(f"median {ratio} its fastest sample")
    if window is not None and floor is not None and floor > 0 and window > WINDOW_RATIO * floor:
        reasons.append(f"its library ran {window / floor:.0f}x above its quiet floor during the case")
    return reasons


class ProbeFloors:
    """The fastest time each probe took in a run: its library's quiet floor.

    A probe is a small fixed call of one library (the same product through
    fastnn, NumPy and PyTorch), timed in every case's window. The floor only
    goes down as the run goes on, so the cases are judged once all are
    measured (and again after each re-measurement).
    """

    def __init__(self) -> None:
        self.floor: dict[str, float] = {}

    def observe(self, probe_samples: dict[str, list[float]]) -> None:
        """Lower each probe's floor to the fastest of ``probe_samples`` (seconds, by probe name)."""
        for name, times in probe_samples.items():
            if times:
                self.floor[name] = min(self.floor.get(name, math.inf), min(times))


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
    samples: dict[str, list[float]] = field(default_factory=dict, repr=False)
    probes: dict[str, float] = field(default_factory=dict)  # median time of each probe during the case
    runnable: list[int] = field(default_factory=list)  # other processes' runnable tasks after each round
    threads: int | None = None  # the threads the competitors ran on (None: not recorded)
    untrusted: dict[str, str] = field(default_factory=dict)  # backend -> why its time is untrusted
    attempts: int = 1  # measurements of this case (1 + re-measurements)

    @classmethod
    def from_samples(cls, case, dtype, samples: dict[str, list[float]],
                     probe_samples: dict[str, list[float]] | None = None, runnable: Sequence[int] = (),
                     threads: int | None = None) -> Result:
        """The medians and quartiles of ``samples`` (seconds per call, by backend), the probes' medians,
        and what the judgement of :meth:`assess` needs besides (see :func:`untrusted_reasons`)."""
        median = {name: statistics.median(s) for name, s in samples.items()}
        quartiles = {name: (float(np.percentile(s, 25)), float(np.percentile(s, 75))) for name, s in samples.items()}
        probes = {name: statistics.median(t) for name, t in (probe_samples or {}).items() if t}
        return cls(case, str(np.dtype(dtype)), median, quartiles, len(next(iter(samples.values()))),
                   samples={name: list(s) for name, s in samples.items()}, probes=probes,
                   runnable=list(runnable), threads=threads)

    def assess(self, floors: ProbeFloors | None = None) -> dict[str, str]:
        """Judge each backend's time (see :func:`untrusted_reasons`); keep and return the untrusted ones.

        A backend's probe is the one of the same name (for the kernel cases:
        "c", "numpy", "torch"); a backend without one is judged on its samples.
        Without samples (a Result built by hand) the quartiles give the spread.
        """
        floor = floors.floor if floors is not None else {}
        spare = None if self.threads is None else max(0, (os.cpu_count() or 1) - self.threads)
        self.untrusted = {}
        for backend, median in self.seconds.items():
            window, quiet = self.probes.get(backend), floor.get(backend)
            if self.samples.get(backend):
                reasons = untrusted_reasons(self.samples[backend], window, quiet, self.runnable, spare)
            else:
                low, high = self.quartiles[backend]
                spread = (high - low) / median if median > 0 else 0.0
                reasons = [f"samples spread {spread:.0%} of the median"] if spread > SPREAD else []
            if reasons:
                self.untrusted[backend] = "; ".join(reasons)
        return self.untrusted

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
            "attempts": self.attempts,
            "untrusted": dict(self.untrusted),
            "probe_seconds": dict(self.probes),
            "runnable_elsewhere": list(self.runnable),
            "gflops": {b: self.gflops(b) for b in self.seconds} if self.case.flops else None,
            "speedup": {f"{b}/c": self.speedup(b) for b in others},
            **self.case.details(),
        }


def measure_until_trusted(cases: Sequence[object], measure: Callable[[object], Result],
                          floors: ProbeFloors | None = None, retries: int = RETRIES) -> list[Result]:
    """Measure every case, then measure again (at most ``retries`` times each) the cases with an untrusted time.

    Parameters
    ----------
    cases : sequence
        The cases, measured in this order.
    measure : callable
        ``measure(case)`` returns the case's :class:`Result` (and, for the
        kernel cases, has shown the probes' times to ``floors``).
    floors : ProbeFloors, optional
        The probes' quiet floors, lowered by every measurement.
    retries : int
        The most re-measurements of one case.

    Returns
    -------
    list of Result
        One per case, in order: the last measurement of each, judged against
        the final floors (``Result.untrusted`` names the times still
        untrusted; ``Result.attempts`` counts the measurements).

    Every case is judged once all are measured, since a floor found late in
    the run applies to the cases before it too. A case judged untrusted is
    measured again while it has retries left, and every case is judged again
    after each pass; a case whose retries are spent stays as measured last.
    """
    results = [measure(case) for case in cases]
    while True:
        for result in results:
            result.assess(floors)
        again = [i for i, r in enumerate(results) if r.untrusted and r.attempts <= retries]
        if not again:
            return results
        for i in again:
            attempts = results[i].attempts
            results[i] = measure(results[i].case)
            results[i].attempts = attempts + 1
