"""threadpoolctl's limits reach fastnn's kernels (fastnn/_threadpool.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastnn

threadpoolctl = pytest.importorskip("threadpoolctl", minversion="3.2")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))


def trained_outputs():
    """Outputs of a small model after a short fit: the kernels and the C engine both run."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 20))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    model = fastnn.MLP([20, 64, 3], dtype="float64", seed=0)
    model.fit(X, y, epochs=3, batch_size=32, verbose=0)
    return model.forward(X, training=False)


@pytest.mark.parametrize("user_api", [None, "openmp"])
def test_threadpool_limits_caps_fastnn(thread_count, user_api):
    thread_count.set(2)
    reference = trained_outputs()
    with threadpoolctl.threadpool_limits(1, user_api=user_api):
        assert fastnn.get_num_threads() == 1
        [info] = [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "fastnn"]
        assert info["user_api"] == "openmp" and info["num_threads"] == 1
        assert info["version"] == fastnn.__version__
        # one thread, and the same numbers as two (fixed partition of every reduction)
        assert_array_equal(trained_outputs(), reference)
    assert fastnn.get_num_threads() == 2
    thread_count.set(3)
    with threadpoolctl.threadpool_limits(2, user_api=user_api):
        assert fastnn.get_num_threads() == 2
        with threadpoolctl.threadpool_limits(1, user_api=user_api):
            assert fastnn.get_num_threads() == 1
        assert fastnn.get_num_threads() == 2
    assert fastnn.get_num_threads() == 3


def test_threadpool_limits_as_a_decorator(thread_count):
    thread_count.set(2)

    @threadpoolctl.threadpool_limits.wrap(limits=1)
    def inside():
        return fastnn.get_num_threads()

    assert inside() == 1 and fastnn.get_num_threads() == 2


def test_one_controller_for_fastnns_module_only():
    from fastnn import _ops, _threadpool
    [info] = [i for i in threadpoolctl.threadpool_info() if i["internal_api"] == "fastnn"]
    assert os.path.realpath(info["filepath"]) == os.path.realpath(_ops.__file__)
    # another extension module is never taken for fastnn's, whatever its name
    import _ctypes
    other = getattr(_ctypes, "__file__", None)
    if other is None:
        pytest.skip("this Python has _ctypes built in: no other extension module file at hand")
    with pytest.raises(OSError, match="not fastnn's"):
        _threadpool.Controller(filepath=other, prefix="", parent=None)


def test_threadpool_limits_for_blas_leave_fastnn(thread_count):
    thread_count.set(2)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        assert fastnn.get_num_threads() == 2


def test_fastnn_imports_without_threadpoolctl():
    code = ("import sys; sys.modules['threadpoolctl'] = None\n"
            "import fastnn, fastnn._threadpool as t\n"
            "print(t.registered, fastnn.get_num_threads() >= 1)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["False", "True"]
