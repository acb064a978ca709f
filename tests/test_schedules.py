"""Learning-rate schedules."""

from __future__ import annotations

import numpy as np
import pytest

from fastnn import schedules


def test_constant_and_step_decay():
    assert schedules.constant(0.3)(12345) == 0.3
    s = schedules.step_decay(1.0, factor=0.5, step_size=10)
    assert [s(t) for t in (0, 9, 10, 19, 20, 35)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]


def test_cyclical_triangular():
    s = schedules.cyclical(eta_min=1e-5, eta_max=1e-1, step_size=500)
    # the coursework's eta_t: up over n_s updates, down over the next n_s, period 2 n_s
    assert np.isclose(s(0), 1e-5) and np.isclose(s(500), 1e-1) and np.isclose(s(1000), 1e-5)
    assert np.isclose(s(250), 1e-5 + 0.5 * (1e-1 - 1e-5)) and np.isclose(s(1750), 1e-5 + 0.5 * (1e-1 - 1e-5))
    assert np.isclose(s(2500), 1e-1)
    values = np.array([s(t) for t in range(3000)])
    assert values.min() >= 1e-5 - 1e-15 and values.max() <= 1e-1 + 1e-15
    assert schedules.triangular is schedules.Cyclical


def test_bad_arguments():
    with pytest.raises(ValueError, match="eta_max must be"):
        schedules.cyclical(0.1, 0.01, 100)
    with pytest.raises(ValueError, match="step_size must be >= 1"):
        schedules.step_decay(0.1, step_size=0)
