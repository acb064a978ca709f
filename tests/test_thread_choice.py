"""The training engine's thread choice and its static splits.

Each engine step runs on one thread or on all of them, as a per-network chooser
decides from measured step times; inside a step the kernels split their work
statically (the same thread owns the same rows in every kernel). Neither may change
a number: a fit that switches between one and two threads at every step, or runs
every step on two threads with static splits, equals a one-thread fit bit for bit.
FASTNN_THREAD_CHOICE (read once) pins the choice; fastnn.thread_report() shows it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from conftest import DTYPES

import fastnn
from fastnn import _ops, ops, optim


@pytest.fixture
def choice_mode():
    """Sets the thread choice for a test and frees it afterwards."""
    yield _ops.set_thread_choice
    _ops.set_thread_choice("measure")


def _fit(threads, dtype, sizes=(300, 256, 128, 10), samples=600, batch=128, batch_norm=True,
         dropout=0.2, epochs=2, activation="relu"):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((samples, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], size=samples)
    model = fastnn.MLP(list(sizes), activation=activation, batch_norm=batch_norm, dropout=dropout,
                       dtype=dtype, seed=5)
    before = fastnn.get_num_threads()
    fastnn.set_num_threads(threads)
    try:
        hist = model.fit(X, y, epochs=epochs, batch_size=batch, optimizer=optim.Adam(1e-3), verbose=0)
    finally:
        fastnn.set_num_threads(before)
    return hist.history["loss"], model.get_state()


def _assert_identical(a, b):
    (loss_a, state_a), (loss_b, state_b) = a, b
    assert loss_a == loss_b
    for kind in ("params", "buffers"):
        assert state_a[kind].keys() == state_b[kind].keys()
        for name, value in state_a[kind].items():
            assert np.array_equal(state_b[kind][name], value), name


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
def test_switching_threads_at_every_step_equals_one_thread(dtype, choice_mode):
    one = _fit(1, dtype)
    choice_mode("alternate")
    switching = _fit(2, dtype)
    _assert_identical(one, switching)
    engines = fastnn.thread_report()["engines"]
    assert engines and engines[0]["reason"] == "alternate"
    assert engines[0]["switches"] > 0


# Products that take each static path of the GEMM inside a step: a first layer deeper than
# one KC slice (a mini-batch's rows split, each thread packing every panel itself), weight
# gradients much wider than tall (column groups), a mini-batch's products with B wide
# enough for column groups, a last batch of at most 8 rows (the small-batch path), and
# products whose shared panels use the buffers again.
STATIC_PATH_CASES = {
    "deep_first_layer": {"sizes": (2100, 64, 10), "samples": 300, "batch": 100, "batch_norm": True,
                         "dropout": 0.0},
    "mini_batch_columns": {"sizes": (300, 512, 512, 10), "samples": 300, "batch": 100,
                           "batch_norm": True, "dropout": 0.0},
    # batch norm split by column blocks, the last one narrower than a block
    "batchnorm_columns_tanh": {"sizes": (40, 100, 230, 10), "samples": 200, "batch": 50,
                               "batch_norm": True, "dropout": 0.0, "activation": "tanh"},
    "small_last_batch": {"sizes": (1400, 96, 10), "samples": 205, "batch": 40, "batch_norm": False,
                         "dropout": 0.0},
    # a 3072 x 3072 layer: its forward product's packed B panels outgrow the ring, so
    # panel buffers are used again (600 rows share the panels; the 16-row batches take
    # column groups)
    "panel_ring_rows": {"sizes": (3072, 3072, 10), "samples": 600, "batch": 600, "batch_norm": False,
                        "dropout": 0.0},
    "panel_ring_columns": {"sizes": (3072, 3072, 10), "samples": 32, "batch": 16, "batch_norm": False,
                           "dropout": 0.0},
}


@pytest.mark.parametrize("case", list(STATIC_PATH_CASES))
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
def test_static_splits_on_two_threads_equal_one_thread(case, dtype, choice_mode):
    kw = STATIC_PATH_CASES[case]
    one = _fit(1, dtype, epochs=1, **kw)
    choice_mode("all")
    _assert_identical(one, _fit(2, dtype, epochs=1, **kw))
    engines = fastnn.thread_report()["engines"]
    assert engines[0]["threads"] == 2 and engines[0]["reason"] == "pinned"


def test_static_splits_equal_the_layer_by_layer_path(choice_mode):
    kw = STATIC_PATH_CASES["deep_first_layer"]
    choice_mode("all")
    engine = _fit(2, np.float64, epochs=1, **kw)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((kw["samples"], kw["sizes"][0]))
    y = rng.integers(0, kw["sizes"][-1], size=kw["samples"])
    model = fastnn.MLP(list(kw["sizes"]), batch_norm=True, dtype=np.float64, seed=5)
    model.use_engine = False
    before = fastnn.get_num_threads()
    fastnn.set_num_threads(2)
    try:
        hist = model.fit(X, y, epochs=1, batch_size=kw["batch"], optimizer=optim.Adam(1e-3), verbose=0)
    finally:
        fastnn.set_num_threads(before)
    _assert_identical(engine, (hist.history["loss"], model.get_state()))


def test_measured_choice_is_reported(choice_mode):
    choice_mode("measure")
    _fit(2, np.float32, sizes=(64, 32, 3), samples=800, batch=20, dropout=0.0, epochs=1)
    report = fastnn.thread_report()
    assert report["choice"] == "measure"
    engine = report["engines"][0]
    assert "64 D32 B A D3" in engine["network"]
    assert engine["steps"] == 40
    assert engine["measurements"] >= 1 and engine["reason"] == "measured"
    assert engine["threads"] in (1, 2)
    assert engine["seconds_per_row_one"] > 0 and engine["seconds_per_row_all"] > 0


def test_one_thread_has_nothing_to_choose(choice_mode):
    choice_mode("measure")
    _fit(1, np.float32, sizes=(16, 8, 3), samples=200, batch=20, dropout=0.0, epochs=1)
    engine = fastnn.thread_report()["engines"][0]
    assert engine["threads"] == 1 and engine["reason"] == "one thread"


def test_report_keys_and_build_info():
    report = fastnn.thread_report()
    assert set(report) == {"threads_available", "choice", "engines", "calls", "kernels"}
    assert report["threads_available"] == fastnn.get_num_threads()
    assert fastnn.build_info()["max_threads"] == fastnn.get_num_threads()


def test_set_thread_choice_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        _ops.set_thread_choice("sometimes")


def test_sync_counts_need_a_counting_build():
    counts = _ops.sync_counts()
    assert counts is None or set(counts) == {"regions", "barriers", "atomics", "waits"}


def _choice_in_fresh_interpreter(env_value):
    """thread_choice() and the chooser of a short two-thread fit, in a new Python with
    FASTNN_THREAD_CHOICE set (None: unset)."""
    code = (
        "import json, numpy as np, fastnn\n"
        "fastnn.set_num_threads(2)\n"
        "X = np.random.default_rng(0).standard_normal((200, 16)).astype(np.float32)\n"
        "m = fastnn.MLP([16, 8, 3], dtype=np.float32, seed=0)\n"
        "m.fit(X, np.arange(200) % 3, epochs=1, batch_size=20, verbose=0)\n"
        "r = fastnn.thread_report()\n"
        "print(json.dumps([r['choice'], r['engines'][0]['threads'], r['engines'][0]['reason']]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "FASTNN_THREAD_CHOICE"}
    if env_value is not None:
        env["FASTNN_THREAD_CHOICE"] = env_value
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, cwd=tempfile.gettempdir(), check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.skipif(not fastnn.build_info()["openmp"], reason="one thread without OpenMP")
@pytest.mark.parametrize("value, expected", [
    ("1", ["1", 1, "pinned"]),
    ("all", ["all", 2, "pinned"]),
])
def test_the_environment_pins_the_choice(value, expected):
    assert _choice_in_fresh_interpreter(value) == expected


@pytest.mark.skipif(not fastnn.build_info()["openmp"], reason="one thread without OpenMP")
@pytest.mark.parametrize("value", [None, "measure", "sometimes"])
def test_without_a_pin_the_engine_measures(value):
    choice, _, reason = _choice_in_fresh_interpreter(value)
    assert choice == "measure" and reason in ("measuring", "measured")


# ------------------------------------------------------------------ the chooser's decisions
# The replay's clock advances by the steps' times only; times are exact binary fractions.
MEASURE = [2, 2, 1, 1] * 3  # pairs on two threads and on one, the first of each pair not counted
ONE, TWO = 0.25, 0.125  # the measurement then ends at 6 * ONE + 6 * TWO = 2.25 s


def test_chooser_keeps_one_thread_when_it_is_faster():
    steps = 40
    assert _ops.choice_replay([1e-3] * steps, [2e-3] * steps) == MEASURE + [1] * (steps - len(MEASURE))


def test_chooser_keeps_all_threads_when_they_are_faster():
    steps = 40
    assert _ops.choice_replay([2e-3] * steps, [1e-3] * steps) == MEASURE + [2] * (steps - len(MEASURE))


def test_chooser_ignores_the_first_step_of_each_pair():
    # the counted steps say two threads are faster; the uncounted first ones say the opposite
    one = [1e-3 if i % 4 == 2 else 3e-3 for i in range(20)]
    two = [9e-3 if i % 4 == 0 else 1e-3 for i in range(20)]
    assert _ops.choice_replay(one, two)[len(MEASURE):] == [2] * (20 - len(MEASURE))


def test_chooser_measures_again_after_a_few_seconds():
    # steps of 2^-8 s on one thread and 2^-9 s on two: a measurement loses 6 * 2^-9 s,
    # less than 1% of 3 s, so it measures again 3 s after the decision: the 1536th step
    # after it ends exactly then, the 1537th past it
    one, two = 2.0**-8, 2.0**-9
    steps = 12 + 1537 + 12
    got = _ops.choice_replay([one] * steps, [two] * steps)
    assert got[:12 + 1537] == MEASURE + [2] * 1537
    assert got[12 + 1537:] == MEASURE


def test_chooser_measures_less_often_when_measuring_costs_more():
    # a measurement of steps of 0.25 s and 0.125 s loses 6 * 0.125 s, 1% of 75 s: after
    # the decision at 2.25 s the 600th step ends exactly 75 s later, the 601st past it
    steps = 12 + 601 + 12
    got = _ops.choice_replay([ONE] * steps, [TWO] * steps)
    assert got[:12 + 601] == MEASURE + [2] * 601
    assert got[12 + 601:] == MEASURE


def test_chooser_measures_again_a_second_after_choosing_one_thread():
    # two threads just slower: a measurement loses 6 * 2^-12 s, so the next comes 1 s
    # after the decision: the 512th step of 2^-9 s after it ends exactly then
    one, two = 2.0**-9, 2.0**-9 + 2.0**-12
    steps = 12 + 513 + 12
    got = _ops.choice_replay([one] * steps, [two] * steps)
    assert got[:12 + 513] == MEASURE + [1] * 513
    assert got[12 + 513:] == MEASURE


def test_chooser_measures_again_when_steps_jump():
    # two threads win, then become five times slower from step 20: after three slow steps
    # in a row (more than a second after the decision) the chooser measures again and
    # keeps one thread (measuring again would lose 6 * 0.375 s, so not for 225 s)
    steps = 60
    one = [ONE] * steps
    two = [TWO] * 20 + [5 * TWO] * (steps - 20)
    got = _ops.choice_replay(one, two)
    assert got[:20] == MEASURE + [2] * 8
    assert got[20:23] == [2, 2, 2]
    assert got[23:23 + len(MEASURE)] == MEASURE
    assert got[23 + len(MEASURE):] == [1] * (steps - 23 - len(MEASURE))


def test_chooser_waits_a_second_after_a_decision_before_a_jump_counts():
    # steps of 1/64 s: the measurement ends at 0.28125 s and the slow steps start at once;
    # the 13th slow step is the first to end more than a second after the decision
    steps = 45
    one = [1 / 32] * steps
    two = [1 / 64] * 12 + [5 / 64] * (steps - 12)
    got = _ops.choice_replay(one, two)
    assert got[:25] == MEASURE + [2] * 13
    assert got[25:25 + len(MEASURE)] == MEASURE


def test_chooser_with_one_thread_has_nothing_to_measure():
    assert _ops.choice_replay([1e-3] * 5, [1e-4] * 5, threads=1) == [1] * 5


def test_choice_replay_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        _ops.choice_replay([1e-3] * 3, [1e-3] * 2)


# ------------------------------------------------------------------ kernels called one by one
def _with_threads(threads, call):
    before = fastnn.get_num_threads()
    fastnn.set_num_threads(threads)
    try:
        return call()
    finally:
        fastnn.set_num_threads(before)


def _linear_inputs(rng, n=100, d_in=784, d_out=512):
    return (rng.standard_normal((n, d_in)).astype(np.float32),
            rng.standard_normal((d_out, d_in)).astype(np.float32),
            rng.standard_normal(d_out).astype(np.float32))


def test_kernel_calls_get_a_measured_choice_per_shape(choice_mode, rng):
    choice_mode("measure")
    X, W, b = _linear_inputs(rng)
    outs = _with_threads(2, lambda: [ops.linear_forward(X, W, b) for _ in range(30)])
    for out in outs[1:]:  # one thread or two, the same bits
        assert np.array_equal(out, outs[0])
    calls = fastnn.thread_report()["calls"]
    assert [c["call"] for c in calls] == ["linear_forward float32 100x784x512 on 2 threads"]
    chooser = calls[0]
    assert chooser["steps"] == 30 and chooser["measurements"] >= 1
    assert chooser["reason"] == "measured" and chooser["threads"] in (1, 2)
    assert chooser["seconds_per_row_one"] > 0 and chooser["seconds_per_row_all"] > 0
    # another shape, another chooser, reported first
    _with_threads(2, lambda: ops.linear_forward(X[:50], W, b))
    assert fastnn.thread_report()["calls"][0]["call"] == "linear_forward float32 50x784x512 on 2 threads"


def test_kernel_calls_without_a_choice_to_make_have_no_chooser(choice_mode, rng):
    choice_mode("measure")
    X, W, b = _linear_inputs(rng)
    small = rng.standard_normal((4, 8)).astype(np.float32)
    _with_threads(2, lambda: ops.activation_forward("relu", small))  # below the least work
    _with_threads(1, lambda: ops.linear_forward(X, W, b))  # one thread: nothing to choose
    assert fastnn.thread_report()["calls"] == []
    choice_mode("all")  # pinned
    _with_threads(2, lambda: ops.linear_forward(X, W, b))
    assert fastnn.thread_report()["calls"] == []


def test_call_choosers_keep_the_most_recently_used(choice_mode, rng):
    choice_mode("measure")
    S = rng.standard_normal((200, 1024))
    rows = list(range(100, 170))
    _with_threads(2, lambda: [ops.activation_forward("tanh", S[:r]) for r in rows])
    calls = fastnn.thread_report()["calls"]
    assert len(calls) == 64
    assert calls[0]["call"].startswith("activation_forward float64 169x1024x")
    assert not any(c["call"].startswith("activation_forward float64 100x") for c in calls)


def test_kernel_calls_from_several_threads_keep_their_results(choice_mode, rng):
    import concurrent.futures

    choice_mode("measure")
    X, W, b = _linear_inputs(rng, n=64, d_in=256, d_out=256)
    want = _with_threads(1, lambda: ops.linear_forward(X, W, b))

    def worker(_):
        return all(np.array_equal(ops.linear_forward(X, W, b), want) for _ in range(40))

    def run():
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            return list(pool.map(worker, range(4)))

    assert all(_with_threads(2, run))
    assert fastnn.thread_report()["calls"][0]["steps"] == 160
