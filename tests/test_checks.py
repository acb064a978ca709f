"""fastnn._checks.finite and its C pass (fnn_all_finite): every non-finite value is found,
wherever it is, for both dtypes, any layout and every SIMD level."""

from __future__ import annotations

import numpy as np
import pytest

from fastnn import _checks, _ops
from conftest import DTYPES


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("size", [1, 15, 16, 17, 70_000, 200_003])  # lanes, tails, several thread pieces
def test_all_finite_finds_every_position(dtype, bad, size, rng, simd_level):
    x = rng.standard_normal(size).astype(dtype)
    assert _ops.all_finite(x)
    for where in {0, size // 2, size - 1}:
        y = x.copy()
        y[where] = bad
        assert not _ops.all_finite(y), where
        with pytest.raises(ValueError, match=rf"X must be finite, found {bad} at index \({where},\)"):
            _checks.finite(y, "X")


def test_finite_checks_views_and_huge_values(rng):
    x = rng.standard_normal((40, 30))
    x[3, 7] = np.finfo(np.float64).max  # finite: x * 0 is 0
    assert _checks.finite(x, "X") is x
    view = x.T  # not C-contiguous: the NumPy path
    view_bad = x.copy().T
    view_bad[7, 3] = np.nan
    assert _checks.finite(view, "X") is view
    with pytest.raises(ValueError, match=r"found nan at index \(7, 3\)"):
        _checks.finite(view_bad, "X")
    assert _ops.all_finite(np.empty(0))

