"""Build facts, the thread-count API and the SIMD-level switch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import fastnn
from fastnn import _ops

from conftest import SIMD_LEVELS


# ------------------------------------------------------------------ build_info

def test_build_info_has_the_documented_keys_and_types():
    info = fastnn.build_info()
    assert {"openmp", "max_threads", "compiler", "cflags", "simd"} <= set(info)
    assert isinstance(info["openmp"], bool)
    assert isinstance(info["max_threads"], int) and info["max_threads"] >= 1
    assert isinstance(info["compiler"], str) and info["compiler"].strip()
    assert isinstance(info["cflags"], str) and info["cflags"].strip()
    assert info["simd"] in ("generic", "avx2", "avx512")


def test_build_has_openmp():
    # This machine's compiler supports OpenMP: a serial build here means the
    # setup.py probe is broken, and the thread tests would pass vacuously.
    info = fastnn.build_info()
    assert info["openmp"] is True
    assert "openmp" in info["cflags"].lower()


def test_build_info_reports_the_thread_count_in_use(thread_count):
    for n in (1, 2):
        thread_count.set(n)
        assert fastnn.build_info()["max_threads"] == n


def test_build_info_reports_the_simd_level_in_use(restore_simd):
    for level in SIMD_LEVELS:
        _ops.set_simd_level(level)
        assert fastnn.build_info()["simd"] == level


# ------------------------------------------------------------------ threads

def test_get_num_threads_returns_a_positive_int():
    n = fastnn.get_num_threads()
    assert isinstance(n, int) and n >= 1


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_set_num_threads_round_trips(thread_count, n):
    fastnn.set_num_threads(n)
    assert fastnn.get_num_threads() == n


def test_set_num_threads_accepts_numpy_integers(thread_count):
    fastnn.set_num_threads(np.int64(2))
    assert fastnn.get_num_threads() == 2
    assert isinstance(fastnn.get_num_threads(), int)


@pytest.mark.parametrize("bad", [0, -1, -100])
def test_set_num_threads_refuses_fewer_than_one(thread_count, bad):
    fastnn.set_num_threads(2)
    with pytest.raises(ValueError, match=r"\bn\b"):
        fastnn.set_num_threads(bad)
    assert fastnn.get_num_threads() == 2  # a refused call changes nothing


@pytest.mark.parametrize("bad", [2.0, 1.5, "2", None, True, False, [2]])
def test_set_num_threads_refuses_non_integers(thread_count, bad):
    fastnn.set_num_threads(2)
    with pytest.raises(TypeError, match=r"\bn\b"):
        fastnn.set_num_threads(bad)
    assert fastnn.get_num_threads() == 2


def _fresh_interpreter(code, set_env=None, unset=()):
    """Run code in a new Python (settings are read once at start-up); return its JSON output."""
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(set_env or {})
    # `python -c` puts the working directory on sys.path: run from a neutral one so
    # the child imports the installed package, not the source tree of a checkout.
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, cwd=tempfile.gettempdir())
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_omp_num_threads_sets_the_default_thread_count():
    code = "import json, fastnn; print(json.dumps(fastnn.get_num_threads()))"
    assert _fresh_interpreter(code, {"OMP_NUM_THREADS": "1"}) == 1
    assert _fresh_interpreter(code, {"OMP_NUM_THREADS": "3"}) == 3


SPIN_PROBE = """
import json, os, time
import numpy as np
import fastnn
from fastnn import ops

def tasks():
    return set(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else set()

def cpu_ms(threads):
    # CPU time of the given threads (ns, from schedstat); the whole process without /proc
    if not threads:
        return time.process_time() * 1e3
    total = 0
    for t in threads:
        with open(f"/proc/self/task/{t}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1e6

fastnn.set_num_threads(2)
X = np.ones((1000, 3072))
before = tasks()
ops.linear_forward(X, np.ones((50, 3072)), np.ones(50))   # a 2-thread region
# only the threads this call started (the OpenMP workers): NumPy's BLAS has its own
# pool, which spins for a while after it starts whatever fastnn does
workers = tasks() - before
cpu = cpu_ms(workers)
time.sleep(0.06)
print(json.dumps({"idle_cpu_ms": cpu_ms(workers) - cpu,
                  "spincount_left": os.environ.get("GOMP_SPINCOUNT")}))
"""


def test_idle_workers_stop_spinning_soon_and_the_environment_is_left_alone():
    # libgomp's own default spins ~8 ms after each region (burning that much CPU
    # while the main thread sleeps); fastnn's default is 30 to 400 us.
    # On a busy machine a worker that started late does its share of the product during
    # the sleep; that is work, not spinning, so the quietest of three probes is judged.
    results = []
    for _ in range(3):
        result = _fresh_interpreter(SPIN_PROBE, unset=("GOMP_SPINCOUNT", "OMP_WAIT_POLICY"))
        assert result["spincount_left"] is None
        results.append(result["idle_cpu_ms"])
        if result["idle_cpu_ms"] < 3.0:
            break
    assert min(results) < 3.0, results


def test_a_users_spin_setting_is_kept():
    result = _fresh_interpreter(SPIN_PROBE, {"GOMP_SPINCOUNT": "123"})
    assert result["spincount_left"] == "123"


# The sizes of the bit-identity tests in test_ops.py. Those tests only mean
# something if the kernels really start threads at these sizes, which is
# checked here by counting the process's OS threads (libgomp starts its
# workers at the first parallel region that asks for more than one thread).
THREADED_CALLS = {
    "linear_forward": "ops.linear_forward(rnd(1000, 3072), rnd(50, 3072), rnd(50))",
    "linear_backward": "ops.linear_backward(rnd(1000, 50), rnd(1000, 3072), rnd(50, 3072))",
    "activation_forward": "ops.activation_forward('tanh', rnd(512, 512))",
    "activation_backward": "ops.activation_backward('tanh', rnd(512, 512), rnd(512, 512))",
    "batchnorm_forward": "ops.batchnorm_forward(rnd(512, 512), rnd(512), rnd(512))",
    "batchnorm_backward": "ops.batchnorm_backward(rnd(512, 512), rnd(512, 512), rnd(512), rnd(512), "
                          "np.ones(512))",
    "softmax_cross_entropy": "ops.softmax_cross_entropy(rnd(300, 1000), np.arange(300) % 1000)",
}


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through /proc")
@pytest.mark.parametrize("kernel", list(THREADED_CALLS))
def test_kernels_start_threads_only_when_asked(kernel):
    call = THREADED_CALLS[kernel]
    code = f"""
import json, os
import numpy as np
import fastnn
from fastnn import ops
rng = np.random.default_rng(0)
def rnd(*shape):
    return rng.standard_normal(shape)
def os_threads():
    return len(os.listdir("/proc/self/task"))
fastnn.set_num_threads(1)
before = os_threads()
{call}
with_one = os_threads()
fastnn.set_num_threads(2)
{call}
with_two = os_threads()
print(json.dumps([before, with_one, with_two]))
"""
    before, with_one, with_two = _fresh_interpreter(code)
    assert with_one == before, "one thread was asked for, but threads were started"
    assert with_two > with_one, "two threads were asked for, but none was started"


# ------------------------------------------------------------------ SIMD levels

def test_simd_supported_lists_known_levels_lowest_first():
    assert SIMD_LEVELS[0] == "generic"  # the portable kernel runs everywhere
    order = ("generic", "avx2", "avx512")
    assert list(SIMD_LEVELS) == [lvl for lvl in order if lvl in SIMD_LEVELS]


def test_default_simd_level_is_the_best_supported():
    code = "import json; from fastnn import _ops; print(json.dumps(_ops.simd_level()))"
    assert _fresh_interpreter(code, unset=("FASTNN_SIMD",)) == SIMD_LEVELS[-1]


@pytest.mark.parametrize("level", SIMD_LEVELS)
def test_fastnn_simd_environment_variable_caps_the_level(level):
    code = "import json, fastnn; print(json.dumps(fastnn.build_info()['simd']))"
    assert _fresh_interpreter(code, {"FASTNN_SIMD": level}) == level


@pytest.mark.parametrize("value", ["neon", "AVX2", ""])
def test_fastnn_simd_environment_variable_ignores_unknown_names(value):
    code = "import json, fastnn; print(json.dumps(fastnn.build_info()['simd']))"
    assert _fresh_interpreter(code, {"FASTNN_SIMD": value}) == SIMD_LEVELS[-1]


def test_set_simd_level_switches_and_reports(restore_simd):
    for level in SIMD_LEVELS:
        _ops.set_simd_level(level)
        assert _ops.simd_level() == level


@pytest.mark.parametrize("bad", ["sse2", "AVX2", "", "neon"])
def test_set_simd_level_refuses_unknown_names(restore_simd, bad):
    before = _ops.simd_level()
    with pytest.raises(ValueError, match="name"):
        _ops.set_simd_level(bad)
    assert _ops.simd_level() == before


def test_set_simd_level_refuses_levels_this_cpu_lacks(restore_simd):
    missing = [lvl for lvl in ("generic", "avx2", "avx512") if lvl not in SIMD_LEVELS]
    if not missing:
        pytest.skip("this CPU supports every SIMD level")
    before = _ops.simd_level()
    with pytest.raises(ValueError):
        _ops.set_simd_level(missing[0])
    assert _ops.simd_level() == before

