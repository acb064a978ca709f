"""fastnn/bench/timing.py: interleaved sampling and the result of one case.

The competitors here record their calls; what is checked is the order and the
number of calls and samples, never how long anything took.
"""

from __future__ import annotations

import gc
import math

import pytest

from fastnn.bench.kernels import Case
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
              "seconds_quartiles", "rounds", "gflops", "speedup"]
    assert list(kernel.as_dict()) == common
    assert list(train.as_dict()) == common + ["samples", "batch_size", "epochs", "updates_per_epoch",
                                              "optimizer", "lr", "batch_norm", "per", "threads"]
    assert isinstance(kernel.as_dict()["fused"], bool) and train.as_dict()["fused"] is None
    assert kernel.as_dict()["speedup"] == {"numpy/c": 2.0}
