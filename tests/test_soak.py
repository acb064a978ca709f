"""Soak: many cycles of fit, predict, save, load and a refused fit keep the resident
memory flat. Slow: excluded from the default run (pyproject's addopts), run by
.ci/run with ``-m slow``."""

import os

import numpy as np
import pytest

import fastnn

pytestmark = pytest.mark.slow

CYCLES = int(os.environ.get("FASTNN_SOAK_CYCLES", "1000"))


def _rss_kib():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    pytest.skip("no VmRSS in /proc/self/status")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_fit_predict_save_load_cycles_keep_memory_flat(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((128, 16))
    y = rng.integers(0, 3, 128)
    path = str(tmp_path / "soak.npz")
    readings = {}
    for cycle in range(1, CYCLES + 1):
        model = fastnn.MLP([16, 24, 3], batch_norm=True, dropout=0.1, seed=cycle)
        model.fit(X, y, epochs=1, batch_size=32, verbose=0)
        model.predict(X)
        model.save(path)
        again = fastnn.load(path)
        before = again.get_state()
        with pytest.raises(ValueError):
            again.fit(X, y[:-1], epochs=1, verbose=0)  # refused: X and y differ in length
        after = again.get_state()
        for name in before["params"]:
            np.testing.assert_array_equal(after["params"][name], before["params"][name])
        if cycle in (CYCLES // 5, CYCLES):
            readings[cycle] = _rss_kib()
    early, late = readings[CYCLES // 5], readings[CYCLES]
    print(f"RSS after {CYCLES // 5} cycles: {early / 1024:.1f} MiB; after {CYCLES}: {late / 1024:.1f} MiB")
    # a leak of one small array a cycle (1 KiB x 800 cycles) would exceed this margin
    assert late - early < 512, f"RSS grew from {early} KiB to {late} KiB over {CYCLES - CYCLES // 5} cycles"
