"""The machine probes of `fastnn info` (fastnn.diagnostics, csrc/probe.c).

Timings are never checked against a threshold: only that the probes return what
they promise (a positive finite time, or None with one CPU), refuse bad arguments,
restore the thread count, and that the interpretation names the cause.
"""

from __future__ import annotations

import math
import os

import pytest

import fastnn
from fastnn import _ops, diagnostics


def test_round_trip_is_a_positive_finite_time_or_none_with_one_cpu():
    ns = diagnostics.probe_round_trip(runs=3, trips=200)
    if diagnostics.allowed_cpus() < 2:
        assert ns is None
    else:
        assert ns is not None and math.isfinite(ns) and ns > 0


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no affinity masks on this platform")
def test_round_trip_with_one_cpu_in_the_mask_measures_nothing():
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(before)})
        assert diagnostics.probe_round_trip(runs=1, trips=10) is None
        assert _ops.probe_round_trip(1, 10) is None
    finally:
        os.sched_setaffinity(0, before)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs two CPUs")
def test_round_trip_uses_the_first_two_cpus_of_the_mask():
    ns, first, second = _ops.probe_round_trip(1, 50)
    assert sorted(os.sched_getaffinity(0))[:2] == [first, second] and ns > 0


@pytest.mark.parametrize("kwargs, error", [
    ({"runs": 0}, ValueError), ({"runs": 1001}, ValueError), ({"trips": 0}, ValueError),
    ({"runs": 1.5}, TypeError), ({"trips": "10"}, TypeError), ({"runs": True}, TypeError),
])
def test_round_trip_refuses_bad_arguments(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        diagnostics.probe_round_trip(**kwargs)


def test_step_times_are_positive_per_thread_count_and_restore_the_thread_count(thread_count):
    thread_count.set(3)
    times = diagnostics.probe_step_times(threads=(1, 2), rounds=1, steps=2)
    assert sorted(times) == [1, 2]
    assert all(math.isfinite(t) and t > 0 for t in times.values())
    assert fastnn.get_num_threads() == 3


@pytest.mark.parametrize("kwargs, error", [
    ({"threads": ()}, ValueError), ({"threads": (0,)}, ValueError), ({"threads": 2}, TypeError),
    ({"threads": "12"}, TypeError), ({"rounds": 0}, ValueError), ({"steps": 0}, ValueError),
    ({"seed": -1}, ValueError),
])
def test_step_times_refuse_bad_arguments(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        diagnostics.probe_step_times(**kwargs)


@pytest.mark.parametrize("trip, times, words", [
    (None, {1: 1e-3}, ["one CPU"]),
    (450.0, {1: 4e-4, 2: 5e-4}, ["slower than one", "far apart", "450 ns"]),
    (120.0, {1: 4e-4, 2: 5e-4}, ["slower than one", "close", "other programs"]),
    (120.0, {1: 4e-4, 2: 3.8e-4}, ["only 1.05x", "other programs"]),
    (120.0, {1: 4e-4, 2: 2.2e-4}, ["1.82x faster", "the cores are close"]),
    (450.0, {1: 4e-4, 2: 2.5e-4}, ["1.60x faster", "far apart"]),
])
def test_interpretation_names_the_cause(trip, times, words):
    line = diagnostics.interpret_probes(trip, times)
    assert "\n" not in line
    for word in words:
        assert word in line


def test_probe_step_times_pins_the_thread_choice_and_sets_it_back():
    # the 2-thread figure must be 2 threads' cost, not the measured choice's
    seen = []
    original = fastnn._ops.set_thread_choice
    before = fastnn._ops.thread_choice()
    try:
        fastnn._ops.set_thread_choice = lambda mode: (seen.append(mode), original(mode))[1]
        fastnn.diagnostics.probe_step_times(threads=(1, 2), rounds=1, steps=2)
    finally:
        fastnn._ops.set_thread_choice = original
    assert seen == ["all", before]
    assert fastnn._ops.thread_choice() == before
