"""Kernel calls and fits from several Python threads at once give the serial
results (the kernels release the GIL, so the thread-team counters, scratch
buffers and the engine's workspace must not be shared between calls), and a
fork multiprocessing pool works after the parent ran OpenMP teams."""

import multiprocessing
import threading

import numpy as np
import pytest

import fastnn
from fastnn import ops

THREADS = 4


def _in_threads(jobs):
    """Runs the callables at once (released together by a barrier); their results in order."""
    barrier = threading.Barrier(len(jobs))
    results, errors = [None] * len(jobs), []

    def run(i):
        try:
            barrier.wait()
            results[i] = jobs[i]()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a thread did not finish"
    if errors:
        raise errors[0]
    return results


def _kernel_work(seed, dtype):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((300, 70)).astype(dtype)
    W = rng.standard_normal((90, 70)).astype(dtype)
    b = rng.standard_normal(90).astype(dtype)
    y = rng.integers(0, 90, 300)

    def job():
        out = []
        for _ in range(5):
            S, H = ops.dense_forward(X, W, b, "relu")
            Y, mean, var = ops.batchnorm_forward(S, np.ones(90, dtype), np.zeros(90, dtype))
            loss, dS = ops.softmax_cross_entropy(Y, y)
            dX, dW, db = ops.linear_backward(dS, X, W)
            out = [S, H, Y, mean, var, np.asarray(loss), dS, dX, dW, db]
        return out
    return job


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_from_several_threads_match_serial_calls(dtype):
    jobs = [_kernel_work(seed, dtype) for seed in range(THREADS)]
    serial = [job() for job in jobs]
    for _ in range(3):
        concurrent = _in_threads(jobs)
        for want, got in zip(serial, concurrent):
            for w, g in zip(want, got):
                np.testing.assert_array_equal(g, w)


def _fit(seed, engine, dtype="float32"):
    def job():
        rng = np.random.default_rng(100 + seed)
        X = rng.standard_normal((256, 20))
        y = rng.integers(0, 4, 256)
        model = fastnn.MLP([20, 32, 32, 4], batch_norm=True, dropout=0.1, dtype=dtype, seed=seed)
        model.use_engine = engine
        model.fit(X, y, epochs=3, batch_size=32, optimizer=fastnn.optim.Adam(0.01), verbose=0)
        return model.get_state(), model.predict_proba(X)
    return job


@pytest.mark.parametrize("engine", [True, False])
def test_four_threads_fitting_four_seeds_match_four_serial_fits(engine):
    jobs = [_fit(seed, engine) for seed in range(THREADS)]
    serial = [job() for job in jobs]
    concurrent = _in_threads(jobs)
    for (state_s, proba_s), (state_c, proba_c) in zip(serial, concurrent):
        for kind in ("params", "buffers"):
            for name in state_s[kind]:
                np.testing.assert_array_equal(state_c[kind][name], state_s[kind][name], err_msg=name)
        np.testing.assert_array_equal(proba_c, proba_s)


def _pool_job(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((200, 64))
    W = rng.standard_normal((48, 64))
    return ops.linear_forward(X, W, np.zeros(48)).sum()


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork here")
def test_fork_pool_after_the_parent_used_openmp():
    before = fastnn.get_num_threads()
    fastnn.set_num_threads(2)
    try:
        expected = [_pool_job(seed) for seed in range(4)]  # the parent starts its OpenMP team
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(2) as pool:
            got = pool.map_async(_pool_job, range(4)).get(timeout=120)
            child_threads = pool.apply_async(fastnn.get_num_threads).get(timeout=60)
        assert got == expected
        assert child_threads == 1
        assert fastnn.get_num_threads() == 2  # the parent keeps its count
    finally:
        fastnn.set_num_threads(before)
