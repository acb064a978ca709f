"""fastnn/bench/timing.py: interleaved sampling and the result of one case.

The competitors here record their calls; what is checked is the order and the
number of calls and samples, never how long anything took.
"""

from __future__ import annotations

import gc
import math

import pytest

from fastnn.bench.kernels import Case
from fastnn.bench import timing
from fastnn.bench.timing import Result, sample_interleaved
from fastnn.bench.training import TrainCase


def recording(calls, *names):
    return [(name, lambda name=name: calls.append(name)) for name in names]


def test_fixed_rounds_call_each_once_untimed_then_alternate_the_order():
    calls = []
    samples = sample_interleaved(recording(calls, "a", "b", "c"), fixed_rounds=3)
    assert calls == ["a", "b", "c",  # untimed
                     "a", "b", "c", "c", "b", "a", "a", "b", "c"]
    assert {name: len(s) for name, s in samples.items()} == {"a": 3, "b": 3, "c": 3}
    assert all(t >= 0 for s in samples.values() for t in s)


def test_estimated_rounds_give_every_competitor_the_same_number_of_samples():
    calls = []
    samples = sample_interleaved(recording(calls, "a", "b"), target_seconds=0, warmup_seconds=0,
                                 min_sample_seconds=0, min_rounds=4)
    assert [len(s) for s in samples.values()] == [4, 4]
    assert calls.count("a") >= 2 + 4 * 2 and calls.count("b") >= 2 + 4 * 2  # warm-up, then settle + sample


def test_garbage_collection_is_switched_back_on_when_a_competitor_fails():
    """Collections are off while sampling; a competitor that raises mid-run leaves them on again."""
    assert gc.isenabled()

    def fails_after(calls):
        count = []

        def call():
            count.append(1)
            assert gc.isenabled() == (len(count) <= calls)
            if len(count) > calls:
                raise RuntimeError("boom")
        return call

    with pytest.raises(RuntimeError, match="boom"):
        sample_interleaved([("ok", lambda: None), ("fails", fails_after(1))], fixed_rounds=2)
    assert gc.isenabled()
    with pytest.raises(RuntimeError, match="boom"):
        # past the warm-up's calls, which run before sampling starts
        sample_interleaved([("ok", lambda: None), ("fails", fails_after(2))], target_seconds=0,
                           warmup_seconds=0, min_rounds=1)
    assert gc.isenabled()


def test_a_result_keeps_medians_quartiles_and_the_number_of_rounds():
    case = Case("linear_forward", (2, 3, 4))
    result = Result.from_samples(case, "float32", {"c": [1.0, 2.0, 4.0, 3.0, 5.0], "numpy": [6.0] * 5})
    assert result.dtype == "float32" and result.rounds == 5
    assert result.seconds == {"c": 3.0, "numpy": 6.0}
    assert result.quartiles["c"] == (2.0, 4.0)
    assert result.speedup("numpy") == 2.0
    assert math.isclose(result.gflops("c"), 2 * 2 * 3 * 4 / 3.0 / 1e9)


def test_the_json_record_of_a_kernel_and_of_a_training_case_has_the_same_keys_then_the_settings():
    kernel = Result.from_samples(Case("dense_forward", (2, 3, 4), "relu"), "float64", {"c": [1.0], "numpy": [2.0]})
    train = Result.from_samples(TrainCase((12, 9, 4), True, 37, 8), "float64", {"c": [1.0], "numpy": [2.0]})
    common = ["case", "op", "shape", "activation", "group", "fused", "dtype", "flops", "seconds",
              "seconds_quartiles", "rounds", "attempts", "untrusted", "probe_seconds", "runnable_elsewhere",
              "gflops", "speedup"]
    assert list(kernel.as_dict()) == common
    assert list(train.as_dict()) == common + ["samples", "batch_size", "epochs", "updates_per_epoch",
                                              "optimizer", "lr", "batch_norm", "per", "threads"]
    assert isinstance(kernel.as_dict()["fused"], bool) and train.as_dict()["fused"] is None
    assert kernel.as_dict()["speedup"] == {"numpy/c": 2.0}


# ------------------------------------------------------------------ untrusted times (synthetic samples)

def test_steady_samples_are_trusted():
    assert timing.untrusted_reasons([1.0, 1.02, 0.98, 1.01, 0.99]) == []
    assert timing.untrusted_reasons([1.0, 1.1, 0.95], window=2.9e-5, floor=1e-5) == []


def test_a_wide_spread_is_untrusted():
    [reason] = timing.untrusted_reasons([1.0, 1.0, 1.6, 1.6, 1.3])  # IQR 0.6 on a median of 1.3
    assert reason.startswith("samples spread 46%")


def test_a_median_far_above_the_fastest_sample_is_untrusted():
    # most samples slowed alike (a small IQR) but one round found the machine quiet
    reasons = timing.untrusted_reasons([0.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert reasons == ["median 10.0x its fastest sample"]


def test_every_sample_slowed_alike_is_caught_by_the_probe_alone():
    samples = [0.024, 0.0241, 0.0239, 0.024, 0.024]  # an 8-row product that takes 57 us when quiet
    assert timing.untrusted_reasons(samples) == []
    assert timing.untrusted_reasons(samples, window=0.024, floor=4.7e-5) == [
        "its library ran 511x above its quiet floor during the case"]
    assert timing.untrusted_reasons(samples, window=None, floor=4.7e-5) == []


def test_probe_floors_keep_the_fastest_time_of_each_probe():
    floors = timing.ProbeFloors()
    floors.observe({"c": [3.0, 2.0], "numpy": [5.0]})
    floors.observe({"c": [2.5], "numpy": [4.0], "torch": []})
    assert floors.floor == {"c": 2.0, "numpy": 4.0}


def test_probes_are_timed_after_every_round():
    calls = []
    samples, probes, runnable = timing.sample_with_probes(recording(calls, "a", "b"), recording(calls, "pa", "pb"),
                                                          fixed_rounds=2)
    assert calls == ["a", "b",  # untimed
                     "a", "b", *["pa"] * (1 + timing.PROBE_CALLS), *["pb"] * (1 + timing.PROBE_CALLS),
                     "b", "a", *["pa"] * (1 + timing.PROBE_CALLS), *["pb"] * (1 + timing.PROBE_CALLS)]
    assert [len(s) for s in samples.values()] == [2, 2] and [len(p) for p in probes.values()] == [2, 2]
    assert len(runnable) in (0, 2) and all(n >= 0 for n in runnable)  # one count per round, on Linux


def test_assess_uses_each_backends_own_probe():
    case = Case("linear_forward", (8, 784, 512), group="scaling")
    result = Result.from_samples(case, "float32", {"c": [1.0] * 5, "numpy": [1.0] * 5, "c1": [1.0] * 5},
                                 {"c": [1.0] * 5, "numpy": [10.0] * 5})
    assert result.probes == {"c": 1.0, "numpy": 10.0}
    floors = timing.ProbeFloors()
    floors.observe({"c": [0.9], "numpy": [1.0]})
    assert set(result.assess(floors)) == {"numpy"}
    assert result.assess() == {}  # no floors: the samples alone, which are steady


def fake_measure(timeline):
    """measure(case) giving, per case name, the next samples of ``timeline[name]`` and recording the calls."""
    calls = []

    def measure(case):
        calls.append(case.name)
        samples = timeline[case.name].pop(0)
        return Result.from_samples(case, "float32", samples)
    return measure, calls


STEADY = {"c": [1.0, 1.0, 1.0], "numpy": [2.0, 2.0, 2.0]}
SPREAD = {"c": [1.0, 1.0, 1.0], "numpy": [1.0, 3.0, 9.0]}


def test_an_untrusted_case_is_measured_again_and_kept_once_trusted():
    quiet, busy = Case("batchnorm", (256, 512)), Case("softmax_cross_entropy", (256, 10))
    measure, calls = fake_measure({quiet.name: [STEADY], busy.name: [SPREAD, STEADY]})
    results = timing.measure_until_trusted([quiet, busy], measure, retries=2)
    assert calls == [quiet.name, busy.name, busy.name]
    assert [r.attempts for r in results] == [1, 2] and all(not r.untrusted for r in results)
    assert results[1].seconds["numpy"] == 2.0


def test_retries_are_bounded_and_a_case_still_untrusted_stays_marked():
    busy = Case("softmax_cross_entropy", (256, 10))
    measure, calls = fake_measure({busy.name: [SPREAD] * 3})
    [result] = timing.measure_until_trusted([busy], measure, retries=2)
    assert calls == [busy.name] * 3 and result.attempts == 3
    assert set(result.untrusted) == {"numpy"}
    measure, calls = fake_measure({busy.name: [SPREAD]})
    [result] = timing.measure_until_trusted([busy], measure, retries=0)
    assert calls == [busy.name] and result.untrusted


def test_the_json_record_says_which_times_are_untrusted():
    result = Result.from_samples(Case("batchnorm", (256, 512)), "float32", SPREAD)
    result.assess()
    record = result.as_dict()
    assert record["attempts"] == 1 and set(record["untrusted"]) == {"numpy"} and record["probe_seconds"] == {}


def test_samples_at_the_timers_resolution_do_not_break_the_judgement():
    assert timing.untrusted_reasons([0.0, 0.0, 0.0]) == []
    assert timing.untrusted_reasons([0.0] + [1e-6] * 6) == ["median far above its fastest sample"]
    result = Result(Case("batchnorm", (4, 4)), "float32", {"c": 0.0}, {"c": (0.0, 0.0)}, 3)
    assert result.assess() == {}


def test_other_processes_runnable_on_the_cores_the_threads_need_make_every_time_untrusted():
    steady = [1.0, 1.01, 0.99, 1.0, 1.0]
    # a CPU-bound process on a 2-CPU machine while the bench runs 2 threads: no spare CPU, one task waiting
    assert timing.untrusted_reasons(steady, runnable=[1, 1, 0, 1, 1], spare_cpus=0) == [
        "other processes had 1 runnable task (median over the rounds) for 0 spare CPUs"]
    assert timing.untrusted_reasons(steady, runnable=[1, 1, 1], spare_cpus=1) == []  # 1 thread on 2 CPUs
    assert timing.untrusted_reasons(steady, runnable=[0, 0, 2, 0, 0], spare_cpus=0) == []  # a blip
    assert timing.untrusted_reasons(steady, runnable=[], spare_cpus=0) == []  # not Linux: not counted


def test_assess_counts_the_spare_cpus_from_the_threads(monkeypatch):
    monkeypatch.setattr(timing.os, "cpu_count", lambda: 2)
    case = Case("batchnorm", (256, 512))
    samples = {"c": [1.0] * 5, "numpy": [2.0] * 5}
    busy = Result.from_samples(case, "float32", samples, runnable=[1] * 5, threads=2)
    assert set(busy.assess()) == {"c", "numpy"}
    assert Result.from_samples(case, "float32", samples, runnable=[1] * 5, threads=1).assess() == {}
    assert Result.from_samples(case, "float32", samples, runnable=[1] * 5).assess() == {}  # threads unknown


def test_runnable_elsewhere_counts_tasks_not_this_process():
    count = timing.runnable_elsewhere()
    if count is None:
        pytest.skip("no /proc/loadavg here")
    assert isinstance(count, int) and count >= 0
